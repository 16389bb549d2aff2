import { randomUUID } from 'node:crypto';
import { WeftError, errorMessage } from '../errors.ts';
import type { ApiPrompt } from '../validate/prompt.ts';
import { TypedEmitter, type ExecutorEvents } from './events.ts';
import type { Executor, RunResult } from './executor.ts';
import { crashed, historyEntry, tuple, type HistoryEntry, type QueueItem, type QueueTuple } from './history.ts';
import { loadQueue, restoreQueue, saveQueue } from './queue-file.ts';

export type { HistoryEntry, QueueItem, QueueTuple } from './history.ts';

export interface QueueEvents extends ExecutorEvents {
  status: { status: { exec_info: { queue_remaining: number } } };
}

export interface QueueOptions {
  executor: Executor;
  /** JSON file the queue and history persist to; in memory only when absent. */
  file?: string;
  maxHistory?: number;
  /**
   * What happens to a prompt that was running when the process died: 'fail' (default) records it in
   * history as an error, so a prompt that crashed the process cannot crash it again in a loop;
   * 'requeue' puts it back at the front.
   */
  restoreRunning?: 'fail' | 'requeue';
  /** Start paused (nothing runs until resume()). */
  paused?: boolean;
}

export interface EnqueueOptions {
  promptId?: string;
  extraData?: Record<string, unknown>;
  outputs?: readonly string[];
  front?: boolean;
}

/** Keys ComfyUI strips from every queue and history response; Weft never stores them. */
const SENSITIVE = ['auth_token_comfy_org', 'api_key_comfy_org'];

/** Prompts waiting and running, history of finished ones; one worker runs them one at a time. */
export class PromptQueue {
  readonly events = new TypedEmitter<QueueEvents>();
  readonly maxHistory: number;
  private readonly executor: Executor;
  private readonly file?: string;
  private counter = 0;
  private pendingItems: QueueItem[] = [];
  private current: { item: QueueItem; abort: AbortController } | null = null;
  private readonly hist = new Map<string, HistoryEntry>();
  private isPaused: boolean;
  private closed = false;
  private pumping = false;
  private saveScheduled = false;
  private readonly waiters = new Map<string, ((e: HistoryEntry) => void)[]>();
  private readonly unsubscribe: () => void;

  constructor(opts: QueueOptions) {
    this.executor = opts.executor;
    this.file = opts.file;
    this.maxHistory = opts.maxHistory ?? 10000;
    this.isPaused = opts.paused ?? false;
    if (this.file) this.restore(opts.restoreRunning ?? 'fail');
    this.unsubscribe = this.executor.events.onAny((type, data) => this.events.emit(type, data));
    this.kick();
  }

  enqueue(prompt: ApiPrompt, opts: EnqueueOptions = {}): { prompt_id: string; number: number } {
    if (this.closed) throw new WeftError('the queue is closed', { type: 'queue_closed' });
    const prompt_id = opts.promptId ?? randomUUID();
    if (this.hist.has(prompt_id) || this.pendingItems.some((i) => i.prompt_id === prompt_id) || this.current?.item.prompt_id === prompt_id) {
      throw new WeftError(`prompt id ${prompt_id} is already in use`, { type: 'invalid_prompt' });
    }
    const extra_data = { ...(opts.extraData ?? {}) };
    for (const k of SENSITIVE) delete extra_data[k];
    this.counter++;
    const number = opts.front ? -this.counter : this.counter;
    const outputs = opts.outputs ? [...opts.outputs] : [];
    this.pendingItems.push({ number, prompt_id, prompt, extra_data, outputs });
    this.sortPending();
    this.changed();
    this.kick();
    return { prompt_id, number };
  }

  get paused(): boolean {
    return this.isPaused;
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
    this.kick();
  }

  /** Pending items in the order they will run. */
  pending(): QueueItem[] {
    return [...this.pendingItems];
  }

  running(): QueueItem | null {
    return this.current?.item ?? null;
  }

  /** ComfyUI's GET /queue body. */
  queueTuples(): { queue_running: QueueTuple[]; queue_pending: QueueTuple[] } {
    return { queue_running: this.current ? [tuple(this.current.item)] : [], queue_pending: this.pendingItems.map(tuple) };
  }

  remaining(): number {
    return this.pendingItems.length + (this.current ? 1 : 0);
  }

  /** Moves a pending prompt to position `index` among the pending ones (0 = next to run). */
  move(promptId: string, index: number): boolean {
    const from = this.pendingItems.findIndex((i) => i.prompt_id === promptId);
    if (from < 0) return false;
    const [item] = this.pendingItems.splice(from, 1);
    const at = Math.max(0, Math.min(index, this.pendingItems.length));
    const before = this.pendingItems[at - 1]?.number;
    const after = this.pendingItems[at]?.number;
    // Only the moved item is renumbered, so the numbers clients already hold for the others stay valid.
    item.number = before === undefined ? (after === undefined ? item.number : after - 1) : after === undefined ? before + 1 : (before + after) / 2;
    this.pendingItems.splice(at, 0, item);
    this.changed();
    return true;
  }

  deletePending(ids: readonly string[]): number {
    const before = this.pendingItems.length;
    this.pendingItems = this.pendingItems.filter((i) => !ids.includes(i.prompt_id));
    if (before !== this.pendingItems.length) this.changed();
    return before - this.pendingItems.length;
  }

  clearPending(): void {
    this.pendingItems = [];
    this.changed();
  }

  /** Interrupts the running prompt (only if it is `promptId`, when given). */
  interrupt(promptId?: string): boolean {
    if (!this.current) return false;
    if (promptId !== undefined && this.current.item.prompt_id !== promptId) return false;
    this.current.abort.abort();
    return true;
  }

  /** History, oldest first, like ComfyUI's GET /history (max_items takes the newest). */
  history(opts: { maxItems?: number; offset?: number } = {}): Record<string, HistoryEntry> {
    let entries = [...this.hist.entries()];
    if (opts.offset !== undefined && opts.offset >= 0) entries = entries.slice(opts.offset);
    if (opts.maxItems !== undefined) entries = opts.offset !== undefined && opts.offset >= 0 ? entries.slice(0, opts.maxItems) : entries.slice(-opts.maxItems);
    return Object.fromEntries(entries);
  }

  historyItem(promptId: string): HistoryEntry | undefined {
    return this.hist.get(promptId);
  }

  deleteHistory(ids: readonly string[]): void {
    for (const id of ids) this.hist.delete(id);
    this.changed(false);
  }

  clearHistory(): void {
    this.hist.clear();
    this.changed(false);
  }

  /** Resolves with the history entry once `promptId` has finished. */
  waitFor(promptId: string): Promise<HistoryEntry> {
    const done = this.hist.get(promptId);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => {
      const list = this.waiters.get(promptId) ?? [];
      list.push(resolve);
      this.waiters.set(promptId, list);
    });
  }

  /** Stops taking work, interrupts the running prompt, waits for it, and writes the file. */
  async close(): Promise<void> {
    this.closed = true;
    const cur = this.current;
    if (cur) {
      cur.abort.abort();
      await this.waitFor(cur.item.prompt_id);
    }
    this.unsubscribe();
    this.flush();
  }

  /** Writes pending changes to the file now. */
  flush(): void {
    this.saveScheduled = false;
    if (!this.file) return;
    saveQueue(this.file, { version: 1, counter: this.counter, pending: this.pendingItems, running: this.current?.item ?? null, history: [...this.hist.entries()] });
  }

  private kick(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  private async pump(): Promise<void> {
    try {
      while (!this.closed && !this.isPaused && this.pendingItems.length) {
        const item = this.pendingItems.shift()!;
        const abort = new AbortController();
        this.current = { item, abort };
        this.changed();
        let run: RunResult;
        try {
          run = await this.executor.execute(item.prompt_id, item.prompt, {
            extraPngInfo: item.extra_data.extra_pnginfo as Record<string, unknown> | undefined,
            outputs: item.outputs.length ? item.outputs : undefined,
            signal: abort.signal,
            previewMethod: typeof item.extra_data.preview_method === 'string' ? item.extra_data.preview_method : undefined,
          });
        } catch (e) {
          run = crashed(item.prompt_id, errorMessage(e));
        }
        this.current = null;
        this.finish(item, run);
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.pumping = false;
    }
  }

  private finish(item: QueueItem, run: RunResult): void {
    const entry = historyEntry(item, run);
    this.hist.set(item.prompt_id, entry);
    while (this.hist.size > this.maxHistory) this.hist.delete(this.hist.keys().next().value!);
    this.changed();
    this.events.emit('executing', { node: null, display_node: null, prompt_id: item.prompt_id });
    const ws = this.waiters.get(item.prompt_id);
    this.waiters.delete(item.prompt_id);
    for (const w of ws ?? []) w(entry);
  }

  private sortPending(): void {
    this.pendingItems.sort((a, b) => a.number - b.number);
  }

  private changed(queueChanged = true): void {
    if (queueChanged) this.events.emit('status', { status: { exec_info: { queue_remaining: this.remaining() } } });
    if (!this.file || this.saveScheduled) return;
    this.saveScheduled = true;
    queueMicrotask(() => {
      if (this.saveScheduled) this.flush();
    });
  }

  private restore(mode: 'fail' | 'requeue'): void {
    const saved = loadQueue(this.file!);
    if (!saved) return;
    const restored = restoreQueue(saved, mode);
    this.counter = restored.counter;
    this.pendingItems = restored.pending;
    for (const [id, e] of restored.history) this.hist.set(id, e);
    this.sortPending();
  }
}
