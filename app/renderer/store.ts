/**
 * App state outside the canvas: queue, history, progress, errors, outputs, settings, models, and the
 * undo stacks. zustand/vanilla + immer: each action yields a new frozen snapshot and untouched slices
 * keep their identity, so panels re-render only for their slice. The litegraph graph itself is never
 * stored here (mutable and huge); undo keeps serialized snapshots of it instead, as ComfyUI's change
 * tracker does. A factory, not a singleton, so every test and window gets its own store.
 */
import { immer } from 'zustand/middleware/immer';
import { createStore } from 'zustand/vanilla';
import type { CatalogueEntry, ImageRef, NodeErrors } from '../shared/wire.ts';

export const UNDO_LIMIT = 50;

export interface QueueItem {
  promptId: string;
  number: number;
  status: 'pending' | 'running';
}

export interface HistoryItem {
  promptId: string;
  status: 'success' | 'error' | 'interrupted';
  images: ImageRef[];
  /** The UI workflow queued, when the server kept it (extra_pnginfo). */
  workflow?: unknown;
  /** The API prompt, for server history without a UI workflow (queued by a script, say). */
  prompt?: unknown;
}

export interface ExecutionError {
  promptId: string;
  nodeId: string;
  nodeType: string;
  message: string;
}

export interface Settings {
  modelsDir: string;
  executionProvider: string;
  cacheSizeMb: number;
  linkRenderMode: 'spline' | 'linear' | 'straight';
  showMinimap: boolean;
  /** Sent as extra_data.preview_method with each prompt, as ComfyUI's frontend does. */
  previewMethod: 'auto' | 'latent2rgb' | 'none';
}

export interface State {
  workflowName: string;
  dirty: boolean;
  connected: boolean;
  queueRemaining: number;
  queue: QueueItem[];
  history: HistoryItem[];
  /** The prompt being executed, its current node and the step progress within that node. */
  progress: { promptId: string | null; node: string | null; value: number; max: number; nodesDone: number; nodesTotal: number };
  /** node id → images shown on that output node. */
  outputs: Record<string, ImageRef[]>;
  /** object URL of the latest latent preview, if any. */
  preview: string | null;
  nodeErrors: NodeErrors;
  executionError: ExecutionError | null;
  message: string | null;
  settings: Settings;
  catalogue: CatalogueEntry[];
  downloads: Record<string, { received: number; total: number; done: boolean; error?: string }>;
  panel: 'queue' | 'gallery' | 'models' | 'settings' | null;
  /** The graph runs on the server's demo checkpoint (random weights): the UI says its images are noise. */
  demoModel: boolean;
  undoStack: { past: string[]; future: string[] };
}

export interface Actions {
  setConnected(c: boolean): void;
  setWorkflowName(name: string, dirty?: boolean): void;
  setDirty(dirty: boolean): void;
  setQueueRemaining(n: number): void;
  setQueue(items: QueueItem[]): void;
  executionStart(promptId: string, nodesTotal: number): void;
  /** The prompt's node count, once the POST answers (its WS events may arrive first). */
  setNodesTotal(promptId: string, n: number): void;
  executing(promptId: string, node: string | null): void;
  setProgress(node: string, value: number, max: number): void;
  executed(node: string, images: ImageRef[]): void;
  finish(promptId: string, status: HistoryItem['status'], workflow?: unknown): void;
  setHistory(items: HistoryItem[]): void;
  setPreview(url: string | null): void;
  setNodeErrors(errors: NodeErrors, message?: string): void;
  setExecutionError(err: ExecutionError | null): void;
  setMessage(msg: string | null): void;
  clearErrors(): void;
  updateSettings(patch: Partial<Settings>): void;
  setCatalogue(items: CatalogueEntry[]): void;
  setDownload(key: string, d: State['downloads'][string]): void;
  togglePanel(panel: NonNullable<State['panel']>): void;
  openPanel(panel: NonNullable<State['panel']>): void;
  setDemoModel(on: boolean): void;
  /** Records the graph as it was before a change; clears redo. Identical snapshots are ignored. */
  record(snapshot: string): void;
  /** Returns the snapshot to restore, given the current one, or null when there is nothing to undo. */
  undo(current: string): string | null;
  redo(current: string): string | null;
  resetUndo(): void;
}

export type AppStore = ReturnType<typeof createAppStore>;

export const DEFAULT_SETTINGS: Settings = {
  modelsDir: '',
  executionProvider: 'cpu',
  cacheSizeMb: 2048,
  linkRenderMode: 'spline',
  showMinimap: true,
  previewMethod: 'auto',
};

const IDLE_PROGRESS: State['progress'] = { promptId: null, node: null, value: 0, max: 0, nodesDone: 0, nodesTotal: 0 };

export function createAppStore(initial: Partial<State> = {}) {
  return createStore<State & Actions>()(
    immer((set, get) => ({
      workflowName: 'Unsaved workflow',
      dirty: false,
      connected: false,
      queueRemaining: 0,
      queue: [],
      history: [],
      progress: IDLE_PROGRESS,
      outputs: {},
      preview: null,
      nodeErrors: {},
      executionError: null,
      message: null,
      settings: DEFAULT_SETTINGS,
      catalogue: [],
      downloads: {},
      panel: null,
      demoModel: false,
      undoStack: { past: [], future: [] },
      ...initial,

      setConnected: (c) => set((s) => void (s.connected = c)),
      setWorkflowName: (name, dirty = false) => set((s) => void ((s.workflowName = name), (s.dirty = dirty))),
      setDirty: (dirty) => set((s) => void (s.dirty = dirty)),
      setQueueRemaining: (n) => set((s) => void (s.queueRemaining = n)),
      setQueue: (items) => set((s) => void (s.queue = items)),
      executionStart: (promptId, nodesTotal) =>
        set((s) => {
          s.progress = { ...IDLE_PROGRESS, promptId, nodesTotal };
          s.executionError = null;
        }),
      setNodesTotal: (promptId, n) =>
        set((s) => {
          if (s.progress.promptId === promptId) s.progress.nodesTotal = n;
        }),
      executing: (promptId, node) =>
        set((s) => {
          if (s.progress.promptId !== promptId) s.progress = { ...IDLE_PROGRESS, promptId };
          if (s.progress.node !== null && s.progress.node !== node) s.progress.nodesDone += 1;
          s.progress.node = node;
          s.progress.value = 0;
          s.progress.max = 0;
        }),
      setProgress: (node, value, max) =>
        set((s) => {
          s.progress.node = node;
          s.progress.value = value;
          s.progress.max = max;
        }),
      executed: (node, images) => set((s) => void (s.outputs[node] = images)),
      finish: (promptId, status, workflow) =>
        set((s) => {
          const images = Object.values(s.outputs).flat();
          if (!s.history.some((h) => h.promptId === promptId)) s.history.unshift({ promptId, status, images, workflow });
          s.progress = IDLE_PROGRESS;
          s.preview = null;
        }),
      setHistory: (items) => set((s) => void (s.history = items)),
      setPreview: (url) => set((s) => void (s.preview = url)),
      setNodeErrors: (errors, message) =>
        set((s) => {
          s.nodeErrors = errors;
          s.message = message ?? null;
        }),
      setExecutionError: (err) => set((s) => void (s.executionError = err)),
      setMessage: (msg) => set((s) => void (s.message = msg)),
      clearErrors: () =>
        set((s) => {
          s.nodeErrors = {};
          s.executionError = null;
          s.message = null;
        }),
      updateSettings: (patch) => set((s) => void Object.assign(s.settings, patch)),
      setCatalogue: (items) => set((s) => void (s.catalogue = items)),
      setDownload: (key, d) => set((s) => void (s.downloads[key] = d)),
      togglePanel: (panel) => set((s) => void (s.panel = s.panel === panel ? null : panel)),
      openPanel: (panel) => set((s) => void (s.panel = panel)),
      setDemoModel: (on) => set((s) => void (s.demoModel = on)),

      record: (snapshot) =>
        set((s) => {
          if (s.undoStack.past[s.undoStack.past.length - 1] === snapshot) return;
          s.undoStack.past.push(snapshot);
          if (s.undoStack.past.length > UNDO_LIMIT) s.undoStack.past.splice(0, s.undoStack.past.length - UNDO_LIMIT);
          s.undoStack.future = [];
        }),
      undo: (current) => {
        const prev = get().undoStack.past.at(-1);
        if (prev === undefined) return null;
        set((s) => {
          s.undoStack.past.pop();
          s.undoStack.future.push(current);
        });
        return prev;
      },
      redo: (current) => {
        const next = get().undoStack.future.at(-1);
        if (next === undefined) return null;
        set((s) => {
          s.undoStack.future.pop();
          s.undoStack.past.push(current);
        });
        return next;
      },
      resetUndo: () => set((s) => void (s.undoStack = { past: [], future: [] })),
    })),
  );
}
