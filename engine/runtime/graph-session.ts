/**
 * One built ONNX graph run either in a ModelService worker or in this thread, behind one async run():
 * the session plumbing of the text encoders (CLIP, T5), which are created by shared caches that do not
 * always have a node context. The service is resolved per run (explicit option, else the process default,
 * else this thread), so a default set after an encoder was created still applies. Service sessions are
 * keyed by the graph's content, so every encoder instance over the same weights and options shares one
 * worker session, which the service's LRU unloads and a later run loads again.
 *
 * A GPU variant (`gpuBuild`: fp16, GPU op choices) goes to the service as graphByEp and is built only if the
 * service tries a GPU provider. The CPU graph is still built once for the content key (a graph build reads
 * only safetensors headers, so this is cheap); the key hashes the builder options too, so both variants of
 * one encoder share one key, and a service only ever holds one of them.
 */
import { createHash } from 'node:crypto';
import type * as ort from 'onnxruntime-node';
import { WeftError } from '../errors.ts';
import { createSession, runFloat, type SessionOptions } from '../onnx/session.ts';
import { defaultModelService } from './default.ts';
import { EP_NAMES, type EpName } from './providers.ts';
import type { ModelService, ModelSpec } from './service.ts';
import { gpuGraphs, variantOf, type BuiltGraph } from './variants.ts';
import type { WireFeeds, WireTensor } from './wire.ts';

export interface EncoderSessionOptions extends SessionOptions {
  /**
   * The service whose workers run the session. Absent: the process default (runtime/default.ts), else
   * this thread. null: always this thread (conformance runs that compare against an in-thread oracle).
   */
  models?: ModelService | null;
}

export type { BuiltGraph };
export type Feeds = Record<string, { data: Float32Array | BigInt64Array | Int32Array; dims: readonly number[] }>;
export type Fetched = Record<string, { data: Float32Array; dims: number[] }>;

function wire(v: Feeds[string]): WireTensor {
  const type = v.data instanceof Float32Array ? 'float32' : v.data instanceof BigInt64Array ? 'int64' : 'int32';
  return { type, dims: [...v.dims], data: v.data };
}

/** A one-provider list maps onto the service's EP setting; anything else is left to the service. */
function epOf(o: SessionOptions): EpName | undefined {
  const list = o.executionProviders;
  if (!list || list.length !== 1) return undefined;
  const name = typeof list[0] === 'string' ? list[0] : list[0]!.name;
  return (EP_NAMES as readonly string[]).includes(name) ? (name as EpName) : undefined;
}

export class GraphSession {
  private built?: BuiltGraph;
  private builtGpu?: BuiltGraph;
  private key?: string;
  private local?: Promise<ort.InferenceSession>;
  private readonly usedBy = new Set<ModelService>();

  /**
   * `kind` prefixes the service key (readable in logs); `build` runs once, on first use; `sizeBytes` is the
   * RAM the loaded session holds, for the service's budget (the graph itself is a few hundred KB);
   * `gpuBuild`, when given, builds the graph GPU providers get (absent: they get the CPU graph).
   */
  constructor(
    private readonly kind: string,
    private readonly label: string,
    private readonly build: () => BuiltGraph,
    private readonly opts: EncoderSessionOptions = {},
    private readonly sizeBytes: () => number = () => 0,
    private readonly gpuBuild?: () => BuiltGraph,
  ) {}

  /** Where the next run goes: a service, or undefined for this thread. */
  service(): ModelService | undefined {
    return this.opts.models === null ? undefined : this.opts.models ?? defaultModelService();
  }

  private graph(): BuiltGraph {
    return (this.built ??= this.build());
  }

  private gpuGraph(): BuiltGraph {
    return (this.builtGpu ??= this.gpuBuild!());
  }

  /** Content key: the graph bytes name the weight files (relative to weightsDir) and every op. */
  serviceKey(): string {
    if (!this.key) {
      const { bytes, weightsDir } = this.graph();
      const o = this.opts;
      const h = createHash('sha256').update(bytes).update(`\0${weightsDir}\0${o.threads ?? ''}\0${o.optimization ?? ''}\0${o.fastStart ? 1 : 0}\0${epOf(o) ?? ''}`).digest('hex');
      this.key = `${this.kind}|${h.slice(0, 24)}`;
    }
    return this.key;
  }

  async run(feeds: Feeds): Promise<Fetched> {
    const models = this.service();
    return models ? this.runIn(models, feeds) : this.runHere(feeds);
  }

  private async runIn(models: ModelService, feeds: Feeds): Promise<Fetched> {
    const { bytes, weightsDir } = this.graph();
    const o = this.opts;
    const spec: ModelSpec = {
      graph: bytes, weightsDir, sizeBytes: Math.max(this.sizeBytes(), bytes.byteLength),
      graphByEp: this.gpuBuild ? gpuGraphs(() => this.gpuGraph()) : undefined,
      threads: o.threads, optimization: o.optimization, disablePrepacking: o.fastStart, ep: epOf(o),
    };
    const handle = await models.load(this.serviceKey(), spec);
    this.usedBy.add(models);
    const r = await handle.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, wire(v)])));
    const out: Fetched = {};
    for (const [k, t] of Object.entries(r)) {
      if (t.type !== 'float32') throw new WeftError(`${this.label}: output "${k}" is ${t.type}, expected float32`, { type: 'model_run_failed' });
      out[k] = { data: t.data as Float32Array, dims: t.dims };
    }
    return out;
  }

  /** The pre-runtime path, unchanged: an ORT session on this thread (blocks it for the whole run). */
  private async runHere(feeds: Feeds): Promise<Fetched> {
    if (!this.local) {
      // An in-thread session forced onto one GPU provider gets the GPU variant too.
      const ep = epOf(this.opts);
      const { bytes, weightsDir } = ep && this.gpuBuild && variantOf(ep) === 'gpu' ? this.gpuGraph() : this.graph();
      const { models: _unused, ...sessionOpts } = this.opts;
      this.local = createSession(bytes, weightsDir, { label: this.label, ...sessionOpts });
      this.local.catch(() => { this.local = undefined; });
    }
    return runFloat(await this.local, feeds);
  }

  /** Frees the in-thread session and unloads the worker sessions this object loaded (shared by key). */
  async release(): Promise<void> {
    const local = this.local;
    this.local = undefined;
    const services = [...this.usedBy];
    this.usedBy.clear();
    for (const m of services) await m.unload(this.serviceKey());
    if (local) await local.then((s) => s.release(), () => { /* never opened: nothing to free */ });
  }
}
