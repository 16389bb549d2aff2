import type { EngineServices, NodeContext, PreviewImage, UiOutput } from '../graph/context.ts';
import type { NodeDef } from '../graph/node.ts';
import type { NodeRegistry } from '../graph/registry.ts';
import { InterruptedError, WeftError, errorMessage } from '../errors.ts';
import { asLink, type ApiPrompt } from '../validate/prompt.ts';
import { OutputCache, type CachedResult } from './cache.ts';
import { TypedEmitter, type ExecutionErrorData, type ExecutorEvents } from './events.ts';
import { planPrompt, type PlannedNode } from './plan.ts';
import { describeValue, mergeUi, normalizeResult } from './results.ts';

export interface ExecutorOptions {
  registry: NodeRegistry;
  services: EngineServices;
  cache?: OutputCache;
}

export interface ExecuteOptions {
  extraPngInfo?: Record<string, unknown>;
  /** Output node ids to run (from validation); all output nodes of the prompt when absent. */
  outputs?: readonly string[];
  signal?: AbortSignal;
  /** Ignore cached results and run every needed node (results are still stored). */
  force?: boolean;
  /** ComfyUI's extra_data.preview_method: 'none' turns sampler previews off; anything else leaves them on. */
  previewMethod?: string;
}

export type StatusMessage = [string, Record<string, unknown>];

export interface NodeMeta {
  node_id: string;
  display_node: string;
  parent_node: string | null;
  real_node_id: string;
}

export interface RunResult {
  status: 'success' | 'error' | 'interrupted';
  /** ui of every output node that ran or was cached — ComfyUI's history `outputs`. */
  outputs: Record<string, UiOutput>;
  meta: Record<string, NodeMeta>;
  /** The history `status.messages`. */
  messages: StatusMessage[];
  executed: string[];
  cached: string[];
  error?: ExecutionErrorData;
}

/** Yield to the event loop at least this often so sockets, timers and interrupts stay responsive. */
const YIELD_MS = 8;

/** Runs API prompts: plans the needed nodes, reuses cached results by signature, and reports ComfyUI's events. */
export class Executor {
  readonly registry: NodeRegistry;
  readonly services: EngineServices;
  readonly cache: OutputCache;
  readonly events = new TypedEmitter<ExecutorEvents>();

  constructor(opts: ExecutorOptions) {
    this.registry = opts.registry;
    this.services = opts.services;
    this.cache = opts.cache ?? new OutputCache();
  }

  on<K extends keyof ExecutorEvents>(type: K, fn: (data: ExecutorEvents[K]) => void): () => void {
    return this.events.on(type, fn);
  }

  async execute(promptId: string, prompt: ApiPrompt, opts: ExecuteOptions = {}): Promise<RunResult> {
    const signal = opts.signal ?? new AbortController().signal;
    const messages: StatusMessage[] = [];
    const emit = <K extends keyof ExecutorEvents>(type: K, data: ExecutorEvents[K], record = false) => {
      if (record) messages.push([type, data as unknown as Record<string, unknown>]);
      this.events.emit(type, data);
    };
    const result: RunResult = { status: 'success', outputs: {}, meta: {}, messages, executed: [], cached: [] };
    emit('execution_start', { prompt_id: promptId, timestamp: Date.now() }, true);

    const outputs = opts.outputs ?? Object.keys(prompt).filter((id) => this.registry.get(prompt[id]?.class_type)?.outputNode);
    let plan: PlannedNode[];
    try {
      plan = await planPrompt(prompt, outputs, this.registry, this.services.folders);
    } catch (e) {
      const id = e instanceof WeftError && e.nodeId ? e.nodeId : '';
      return this.fail(result, promptId, id, prompt[id]?.class_type ?? '', e, {}, emit);
    }

    // Results of this run by node id; cached ones are pinned here so eviction mid-run cannot lose them.
    const values = new Map<string, CachedResult>();
    const needed = this.selectToRun(plan, outputs, values, opts.force === true);
    // Like ComfyUI, every node of the prompt whose result is cached is listed, needed or not.
    result.cached = opts.force ? [] : plan.filter((p) => values.has(p.id) || this.cache.has(p.sig)).map((p) => p.id);
    emit('execution_cached', { nodes: result.cached, prompt_id: promptId, timestamp: Date.now() }, true);

    for (const p of plan) {
      const cached = values.get(p.id);
      if (!cached || !p.def.outputNode) continue;
      this.recordUi(result, p.id, cached.ui);
      if (cached.ui && Object.keys(cached.ui).length) emit('executed', { node: p.id, display_node: p.id, output: cached.ui, prompt_id: promptId });
    }

    let lastYield = performance.now();
    for (const p of plan) {
      if (!needed.has(p.id)) continue;
      if (performance.now() - lastYield > YIELD_MS) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = performance.now();
      }
      let inputs: Record<string, unknown[]> = {};
      try {
        if (signal.aborted) throw new InterruptedError();
        inputs = this.gatherInputs(p, prompt, values);
        emit('executing', { node: p.id, display_node: p.id, prompt_id: promptId });
        const res = await this.runNode(p, inputs, prompt, promptId, opts.extraPngInfo, signal, emit, opts.previewMethod !== 'none');
        values.set(p.id, res);
        result.executed.push(p.id);
        if (!p.volatile) this.cache.set(p.sig, res);
        if (p.def.outputNode) this.recordUi(result, p.id, res.ui);
        if (res.ui && Object.keys(res.ui).length) emit('executed', { node: p.id, display_node: p.id, output: res.ui, prompt_id: promptId });
      } catch (e) {
        if (e instanceof InterruptedError || signal.aborted) {
          result.status = 'interrupted';
          emit('execution_interrupted', { prompt_id: promptId, node_id: p.id, node_type: p.def.name, executed: [...result.executed], timestamp: Date.now() }, true);
          return result;
        }
        return this.fail(result, promptId, p.id, p.def.name, e, inputs, emit, [...values.keys()]);
      }
    }
    emit('execution_success', { prompt_id: promptId, timestamp: Date.now() }, true);
    return result;
  }

  /** Walks up from the outputs, stopping at cached nodes; fills `values` with the cached results it uses. */
  private selectToRun(plan: PlannedNode[], outputs: readonly string[], values: Map<string, CachedResult>, force: boolean): Set<string> {
    const byId = new Map(plan.map((p) => [p.id, p]));
    const needed = new Set<string>();
    const stack = [...outputs];
    const seen = new Set<string>();
    while (stack.length) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const p = byId.get(id)!;
      const hit = force ? undefined : this.cache.get(p.sig);
      if (hit) {
        values.set(id, hit);
        continue;
      }
      needed.add(id);
      for (const v of Object.values(p.inputs)) {
        const l = asLink(v);
        if (l) stack.push(l[0]);
      }
    }
    return needed;
  }

  private gatherInputs(p: PlannedNode, prompt: ApiPrompt, values: Map<string, CachedResult>): Record<string, unknown[]> {
    const given = p.inputs;
    const out: Record<string, unknown[]> = {};
    for (const name of inputNames(p.def)) {
      const v = given[name];
      if (v === undefined) continue;
      const link = asLink(v);
      if (link) {
        const up = values.get(link[0]);
        if (!up) throw new WeftError(`Node ${p.id} (${p.def.name}): input ${name} has no value from node ${link[0]}`, { nodeId: p.id, classType: p.def.name, input: name });
        out[name] = up.outputs[link[1]] ?? [];
      } else out[name] = [v];
    }
    return out;
  }

  private async runNode(
    p: PlannedNode,
    inputs: Record<string, unknown[]>,
    prompt: ApiPrompt,
    promptId: string,
    extraPngInfo: Record<string, unknown> | undefined,
    signal: AbortSignal,
    emit: <K extends keyof ExecutorEvents>(type: K, data: ExecutorEvents[K]) => void,
    previews: boolean,
  ): Promise<CachedResult> {
    const def = p.def;
    const ctx: NodeContext = {
      nodeId: p.id,
      classType: def.name,
      promptId,
      signal,
      services: this.services,
      prompt,
      extraPngInfo,
      previews,
      progress(value: number, max: number, preview?: PreviewImage) {
        emit('progress', { value, max, prompt_id: promptId, node: p.id });
        if (preview && previews) emit('preview', { prompt_id: promptId, node: p.id, image: preview });
        if (signal.aborted) throw new InterruptedError();
      },
      checkAbort() {
        if (signal.aborted) throw new InterruptedError();
      },
      warn(message: string) {
        emit('warning', { prompt_id: promptId, node: p.id, node_type: def.name, message });
      },
    };
    const hidden: Record<string, unknown> = {};
    for (const [name, kind] of Object.entries(def.inputs.hidden ?? {})) {
      hidden[name] = kind === 'UNIQUE_ID' ? p.id : kind === 'EXTRA_PNGINFO' ? extraPngInfo : prompt;
    }
    // ComfyUI's list rule: called once per element of the longest input list, shorter lists repeat their last element.
    const names = Object.keys(inputs);
    let calls = 1;
    for (const n of names) calls = Math.max(calls, inputs[n].length);
    if (names.some((n) => inputs[n].length === 0)) calls = 0;
    const outputs: unknown[][] = def.outputs.map(() => []);
    let ui: UiOutput | undefined;
    for (let i = 0; i < calls; i++) {
      if (signal.aborted) throw new InterruptedError();
      const args: Record<string, unknown> = { ...hidden };
      for (const n of names) {
        const list = inputs[n];
        args[n] = list[Math.min(i, list.length - 1)];
      }
      const raw = await def.run!(args as never, ctx);
      const r = normalizeResult(def, raw);
      for (let k = 0; k < outputs.length; k++) {
        if (def.outputs[k].isList) outputs[k].push(...(r.outputs[k] as unknown[]));
        else outputs[k].push(r.outputs[k]);
      }
      if (r.ui) ui = mergeUi(ui, r.ui);
    }
    return ui ? { outputs, ui } : { outputs };
  }

  private recordUi(result: RunResult, id: string, ui: UiOutput | undefined): void {
    if (ui && Object.keys(ui).length) result.outputs[id] = ui;
    result.meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
  }

  private fail(
    result: RunResult,
    promptId: string,
    nodeId: string,
    nodeType: string,
    e: unknown,
    inputs: Record<string, unknown[]>,
    emit: <K extends keyof ExecutorEvents>(type: K, data: ExecutorEvents[K], record?: boolean) => void,
    current: string[] = [],
  ): RunResult {
    const current_inputs: Record<string, unknown[]> = {};
    for (const [k, list] of Object.entries(inputs)) current_inputs[k] = list.map(describeValue);
    const err = e instanceof Error ? e : new Error(String(e));
    result.status = 'error';
    result.error = {
      prompt_id: promptId,
      node_id: nodeId,
      node_type: nodeType,
      executed: [...result.executed],
      exception_message: errorMessage(e),
      exception_type: err instanceof WeftError ? `WeftError.${err.type}` : err.name,
      traceback: (err.stack ?? '').split('\n').slice(1).map((l) => l.trim()),
      current_inputs,
      current_outputs: current,
      timestamp: Date.now(),
    };
    emit('execution_error', result.error, true);
    return result;
  }
}

const namesCache = new WeakMap<NodeDef, string[]>();
function inputNames(def: NodeDef): string[] {
  let n = namesCache.get(def);
  if (!n) namesCache.set(def, (n = [...Object.keys(def.inputs.required ?? {}), ...Object.keys(def.inputs.optional ?? {})]));
  return n;
}
