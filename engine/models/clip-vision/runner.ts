/**
 * Runs a built graph either in the model service's worker (when the host provides `services.models`, so
 * the UI/event loop stays free and the session is shared and evictable) or in this thread (tests, the
 * conformance runner, hosts without a runtime). Callers see one async function either way.
 */
import type * as ort from 'onnxruntime-node';
import { WeftError, errorMessage } from '../../errors.ts';
import { createSession, runFloat, type GraphBuilder } from '../../onnx/index.ts';
import type { ModelService } from '../../runtime/service.ts';

export type Feed = { data: Float32Array | BigInt64Array; dims: readonly number[] };
export type Fetched = Record<string, { data: Float32Array; dims: number[] }>;

export interface RunnerOptions {
  models?: ModelService;
  threads?: number;
  /** RAM estimate for the service's budget (weights as float32 plus slack). */
  sizeBytes?: number;
}

export interface GraphRunner {
  /** Where the session runs, for logs and tests. */
  readonly where: 'service' | 'in-thread';
  run(feeds: Record<string, Feed>): Promise<Fetched>;
  release(): Promise<void>;
}

/** Opens `g` under `key` (unique per file + graph variant); the session is created on first use. */
export function graphRunner(g: GraphBuilder, key: string, label: string, o: RunnerOptions = {}): GraphRunner {
  const { bytes, weightsDir } = g.build();
  const models = o.models;
  if (models) {
    const serviceKey = key;
    const spec = { graph: bytes, weightsDir, sizeBytes: o.sizeBytes, threads: o.threads };
    return {
      where: 'service',
      async run(feeds) {
        const handle = await models.load(serviceKey, spec);
        const wire = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { type: v.data instanceof Float32Array ? 'float32' as const : 'int64' as const, dims: [...v.dims], data: v.data }]));
        const r = await handle.run(wire);
        const out: Fetched = {};
        for (const [k, t] of Object.entries(r)) {
          const d = t.data;
          out[k] = { dims: t.dims, data: d instanceof Float32Array ? d : new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)) };
        }
        return out;
      },
      release: () => models.unload(serviceKey),
    };
  }
  let session: Promise<ort.InferenceSession> | undefined;
  return {
    where: 'in-thread',
    async run(feeds) {
      session ??= createSession(bytes, weightsDir, { label, threads: o.threads }).catch((e: unknown) => { session = undefined; throw e; });
      const s = await session;
      try {
        return await runFloat(s, feeds);
      } catch (e) {
        throw new WeftError(`${label}: run failed: ${errorMessage(e)}`, { type: 'model_run_failed' });
      }
    },
    async release() {
      const s = session;
      session = undefined;
      if (s) await (await s).release();
    },
  };
}

const memo = new WeakMap<object, Map<string, GraphRunner>>();
const IN_THREAD = {};

/**
 * One runner per (service, key), made on first use: small side graphs (IP-Adapter projection, GLIGEN
 * PositionNet) are built once per file, and a service's runners never leak into another service.
 */
export function memoRunner(key: string, models: ModelService | undefined, make: () => GraphRunner): GraphRunner {
  const owner = models ?? IN_THREAD;
  let byKey = memo.get(owner);
  if (!byKey) memo.set(owner, (byKey = new Map()));
  let r = byKey.get(key);
  if (!r) byKey.set(key, (r = make()));
  return r;
}
