/**
 * The model service: one worker thread per loaded model, models shared by key, unloaded
 * least-recently-used when a memory budget would be exceeded. Handles survive eviction: the next
 * run() loads the model again from its spec (the graph bytes are small; the weights are mapped).
 */
import { freemem, totalmem, availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { WeftError } from '../errors.ts';
import { candidatesFor, oneLine, platformInfo, type EpAttempt, type EpName, type EpSetting, type PlatformInfo } from './providers.ts';
import { clearDefaultModelService } from './default.ts';
import { InlineHost, type SessionPort } from './inline.ts';
import type { SessionSettings, WorkerReply, WorkerRequest } from './protocol.ts';
import { checkWire, transferList, type WireFeeds } from './wire.ts';
import { resolveSource, type BuiltGraph, type GraphSource } from './variants.ts';

export interface ModelSpec {
  /**
   * The default (CPU) graph: ONNX ModelProto bytes whose weights are external data relative to weightsDir,
   * or a builder called only if a provider without its own variant is tried (runtime/variants.ts).
   */
  graph: GraphSource;
  /** Per-provider graph variants (GPU: fp16, GPU op choices), resolved only when that provider is tried. */
  graphByEp?: Partial<Record<EpName, GraphSource>>;
  /** Folder of the external weights of byte graphs; a builder's result carries its own. */
  weightsDir?: string;
  ep?: EpSetting;
  /** RAM the loaded session will hold (the builder's estimate); defaults to the graph size. */
  sizeBytes?: number;
  threads?: number;
  disablePrepacking?: boolean;
  /** ORT graph optimization level; 'extended' when absent (research/onnx.md §2a). */
  optimization?: SessionSettings['optimization'];
}

export interface ModelServiceOptions {
  /** Bytes of models kept loaded at once; default: half of total RAM. */
  budgetBytes?: number;
  /**
   * Provider setting used when a spec names none: 'auto' (default: GPU providers this binary has and a
   * hardware adapter backs, then CPU) or one provider, forced (tried even on a software adapter).
   */
  ep?: EpSetting;
  threads?: number;
  log?: (message: string) => void;
  /** Injected for tests; defaults to os.freemem. */
  freeMemory?: () => number;
  /** Injected for tests; defaults to probing this process. */
  platform?: () => Promise<PlatformInfo>;
  /** Worker entry (bundled apps point this at their built worker). */
  workerUrl?: URL;
  /**
   * Run every session on the calling thread instead of a worker: the measured baseline of
   * bench/responsiveness.ts and its test. Never for a host with a UI (each run stalls its event loop).
   */
  inThread?: boolean;
}

export interface ModelHandle {
  readonly key: string;
  /** Provider the session runs on, and what happened to each one considered (for the UI). */
  readonly ep: string;
  readonly attempts: EpAttempt[];
  readonly inputNames: string[];
  readonly outputNames: string[];
  /** With transfer: true the feeds' buffers move to the worker (detached here); otherwise they are cloned. */
  run(feeds: WireFeeds, opts?: { transfer?: boolean }): Promise<WireFeeds>;
}

/** What a loaded model runs on (for the UI, logs and tests). */
export interface LoadedModel { key: string; ep: string; attempts: EpAttempt[]; sizeBytes: number }

interface Entry {
  key: string;
  ep?: string;
  attempts?: EpAttempt[];
  spec: ModelSpec;
  size: number;
  worker: SessionPort;
  ready: Promise<ModelHandle>;
  loaded: boolean;
  lastUsed: number;
  busy: number;
  pending: Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>;
}

/**
 * Loader hooks registered with `--import tsx` do not reach worker threads, so a TypeScript entry (dev,
 * tests) is started through a small bootstrap that registers tsx inside the worker first. Built apps
 * pass a JavaScript workerUrl and get a plain worker.
 */
function spawnWorker(url: URL): SessionPort {
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true });
}

const GiB = 1024 ** 3;
const fmt = (n: number): string => (n >= GiB ? `${(n / GiB).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);

let services = 0;

/**
 * Workers are released and terminated one at a time, across every service of the process: ORT's WebGPU EP
 * shares one device among the sessions of all threads, and workers releasing WebGPU sessions at once crashed
 * the process ("double free or corruption": 3 of 8 lavapipe test runs whose services each released two webgpu
 * workers at once, 0 of 14 one at a time). A release takes milliseconds, so closing in sequence costs little.
 */
let shutdowns: Promise<void> = Promise.resolve();

export class ModelService {
  readonly budgetBytes: number;
  /** Distinguishes services in caches that outlive one (shared encoders keyed per service). */
  readonly id = ++services;
  private readonly entries = new Map<string, Entry>();
  private readonly opts: ModelServiceOptions;
  private nextId = 1;
  private tick = 0;

  constructor(opts: ModelServiceOptions = {}) {
    this.opts = opts;
    this.budgetBytes = opts.budgetBytes ?? Math.floor(totalmem() / 2);
  }

  loadedKeys(): string[] {
    return [...this.entries.keys()];
  }

  /** Models whose session is created, with the provider each one runs on. */
  loadedModels(): LoadedModel[] {
    return [...this.entries.values()].filter((e) => e.loaded).map((e) => ({ key: e.key, ep: e.ep!, attempts: e.attempts!, sizeBytes: e.size }));
  }

  usedBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.size;
    return n;
  }

  load(key: string, spec: ModelSpec): Promise<ModelHandle> {
    const existing = this.entries.get(key);
    if (existing) {
      existing.lastUsed = ++this.tick;
      return existing.ready;
    }
    const size = spec.sizeBytes ?? (spec.graph instanceof Uint8Array ? spec.graph.byteLength : 0);
    if (size > this.budgetBytes) {
      return Promise.reject(new WeftError(`model "${key}" needs ${fmt(size)}, more than the ${fmt(this.budgetBytes)} model memory budget`, { type: 'out_of_memory', extra: { key, size } }));
    }
    this.evictFor(size);
    const free = (this.opts.freeMemory ?? freemem)();
    if (size > free) {
      return Promise.reject(new WeftError(`not enough memory to load model "${key}": it needs about ${fmt(size)} and ${fmt(free)} is free; close other programs or lower the resolution/precision`, { type: 'out_of_memory', extra: { key, size, free } }));
    }
    const worker = this.opts.inThread ? new InlineHost() : spawnWorker(this.opts.workerUrl ?? new URL('./worker.ts', import.meta.url));
    const entry: Entry = { key, spec, size, worker, ready: undefined as never, loaded: false, lastUsed: ++this.tick, busy: 0, pending: new Map() };
    worker.on('message', (r: WorkerReply) => {
      const p = entry.pending.get(r.id);
      if (p) { entry.pending.delete(r.id); p.resolve(r); }
    });
    const die = (err: Error): void => {
      for (const p of entry.pending.values()) p.reject(err);
      entry.pending.clear();
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
    worker.on('error', (e) => die(new WeftError(`model "${key}": worker failed: ${e.message}`, { extra: { key } })));
    worker.on('exit', (code) => die(new WeftError(`model "${key}": worker exited (code ${code})`, { extra: { key } })));
    this.entries.set(key, entry);
    entry.ready = this.start(entry).catch((e: unknown) => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      void worker.terminate();
      throw e;
    });
    return entry.ready;
  }

  async unload(key: string): Promise<void> {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    await this.shutdown(e);
  }

  async close(): Promise<void> {
    clearDefaultModelService(this);
    await Promise.all([...this.entries.keys()].map((k) => this.unload(k)));
  }

  /**
   * Tries the candidates one at a time, each with its own graph variant, built only now (the CPU graph is
   * never built when a GPU session opens; the GPU graph never when the setting leaves GPUs out).
   */
  private async start(entry: Entry): Promise<ModelHandle> {
    const { spec, key } = entry;
    const info = await (this.opts.platform ?? platformInfo)();
    const setting = spec.ep ?? this.opts.ep ?? 'auto';
    const { candidates, skipped } = candidatesFor(setting, info);
    const base = { threads: spec.threads ?? this.opts.threads ?? availableParallelism(), disablePrepacking: spec.disablePrepacking, optimization: spec.optimization };
    const attempts: EpAttempt[] = [...skipped];
    for (const ep of candidates) {
      const variant = spec.graphByEp?.[ep];
      let g: BuiltGraph;
      try {
        g = resolveSource(variant ?? spec.graph, spec.weightsDir, `model "${key}"`);
      } catch (e) {
        // The default graph failing to build is a model error (missing tensor…): report it as it is.
        if (!variant) throw e;
        attempts.push({ ep, outcome: 'failed', reason: `building its graph variant: ${oneLine(e)}` });
        continue;
      }
      const reply = await this.call(entry, { op: 'load', id: 0, graph: g.bytes, candidates: [ep], skipped: [], settings: { ...base, weightsDir: g.weightsDir } });
      if (reply.ok && 'ep' in reply) {
        attempts.push(...reply.attempts);
        entry.loaded = true;
        entry.ep = reply.ep;
        entry.attempts = attempts;
        const skippedText = attempts.filter((a) => a.outcome !== 'chosen').map((a) => `${a.ep} ${a.outcome} (${a.reason})`).join('; ');
        this.opts.log?.(`model "${key}": running on ${reply.ep}${variant ? ' (its own graph variant)' : ''}${skippedText ? `; ${skippedText}` : ''}`);
        return {
          key, ep: reply.ep, attempts, inputNames: reply.inputNames, outputNames: reply.outputNames,
          run: (feeds, o) => this.run(key, spec, feeds, o?.transfer ?? false),
        };
      }
      if (reply.ok) throw new WeftError(`model "${key}": worker sent an unexpected reply`);
      attempts.push(...(reply.attempts?.length ? reply.attempts : [{ ep, outcome: 'failed' as const, reason: oneLine(reply.error) }]));
    }
    const why = attempts.length ? attempts.map((a) => `${a.ep}: ${a.reason}`).join('; ') : 'no provider to try';
    throw new WeftError(`model "${key}": could not create a session (${setting}): ${why}`, { type: 'model_load_failed', extra: { key, attempts } });
  }

  private async run(key: string, spec: ModelSpec, feeds: WireFeeds, transfer: boolean): Promise<WireFeeds> {
    for (const [name, t] of Object.entries(feeds)) {
      try { checkWire(name, t); } catch (e) { throw new WeftError(`model "${key}": input ${(e as Error).message}`, { input: name, extra: { key } }); }
    }
    await this.load(key, spec);
    const entry = this.entries.get(key);
    if (!entry) throw new WeftError(`model "${key}" was unloaded while starting`, { extra: { key } });
    entry.lastUsed = ++this.tick;
    entry.busy++;
    try {
      const reply = await this.call(entry, { op: 'run', id: 0, feeds }, transfer ? transferList(feeds) : []);
      if (!reply.ok) throw new WeftError(`model "${key}": run failed: ${reply.error}`, { type: 'model_run_failed', extra: { key } });
      if (!('outputs' in reply)) throw new WeftError(`model "${key}": worker sent an unexpected reply`);
      return reply.outputs;
    } finally {
      entry.busy--;
    }
  }

  private call(entry: Entry, req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      entry.pending.set(id, { resolve, reject });
      try {
        entry.worker.postMessage({ ...req, id }, transfer);
      } catch (e) {
        entry.pending.delete(id);
        reject(e as Error);
      }
    });
  }

  /** Unloads idle models, least recently used first, until `size` more bytes fit the budget. */
  private evictFor(size: number): void {
    const idle = [...this.entries.values()].filter((e) => e.loaded && e.busy === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.usedBytes() + size > this.budgetBytes && idle.length > 0) {
      const victim = idle.shift()!;
      this.entries.delete(victim.key);
      this.opts.log?.(`model "${victim.key}" unloaded to make room (${fmt(victim.size)})`);
      void this.shutdown(victim);
    }
  }

  /** Queued behind every other shutdown of the process (see `shutdowns`). */
  private shutdown(e: Entry): Promise<void> {
    const done = shutdowns.then(() => this.shutdownNow(e));
    shutdowns = done.catch(() => { /* the next shutdown runs anyway */ });
    return done;
  }

  private async shutdownNow(e: Entry): Promise<void> {
    try {
      if (e.loaded) await Promise.race([this.call(e, { op: 'release', id: 0 }), new Promise((r) => setTimeout(r, 2000).unref())]);
    } catch { /* terminating anyway */ }
    e.worker.removeAllListeners('exit');
    await e.worker.terminate();
  }
}
