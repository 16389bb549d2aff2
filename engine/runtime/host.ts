/**
 * What a session worker does, apart from its message port: create one ORT session (trying providers in
 * order), run it on wire tensors, release it. The worker entry (worker.ts) and the in-thread host
 * (inline.ts) share this code, so the two differ only in which thread runs it — that is what makes the
 * in-thread baseline of the responsiveness test and bench a fair comparison, with bit-identical results.
 */
import * as ort from 'onnxruntime-node';
import { selectProvider, type EpAttempt } from './providers.ts';
import { checkWire, transferList, typedView, type WireFeeds, type WireTensor, type WireType } from './wire.ts';
import type { WorkerRequest, WorkerReply, SessionSettings } from './protocol.ts';

function sessionOptions(ep: string, s: SessionSettings): ort.InferenceSession.SessionOptions {
  const session: Record<string, unknown> = {
    intra_op: { allow_spinning: '0' },
    model_external_initializers_file_folder_path: s.weightsDir,
  };
  if (s.disablePrepacking) session.disable_prepacking = '1';
  return {
    executionProviders: [ep === 'webgpu' ? { name: 'webgpu' } : ep] as ort.InferenceSession.ExecutionProviderConfig[],
    graphOptimizationLevel: s.optimization ?? 'extended',
    intraOpNumThreads: s.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: false,
    logSeverityLevel: 3,
    extra: { session },
  } as ort.InferenceSession.SessionOptions;
}

function fromOrt(t: ort.Tensor): WireTensor {
  const type = t.type as WireType;
  if (!['float32', 'float16', 'int64', 'int32'].includes(type)) throw new Error(`output type ${t.type} is not supported`);
  const src = t.data as ArrayBufferView;
  // ORT's output buffers may be views into memory we must not transfer away; copy once into our own.
  const copy = new Uint8Array(src.byteLength);
  copy.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
  const data = type === 'float32' ? new Float32Array(copy.buffer) : type === 'float16' ? new Uint16Array(copy.buffer) : type === 'int64' ? new BigInt64Array(copy.buffer) : new Int32Array(copy.buffer);
  return { type, dims: [...t.dims], data };
}

export interface SessionHost {
  /** Answers one request; `transfer` lists the reply's buffers that may be moved rather than copied. */
  handle(req: WorkerRequest): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }>;
}

/** One host holds at most one session (one per worker, one per in-thread entry). */
export function createSessionHost(): SessionHost {
  let session: ort.InferenceSession | null = null;

  async function load(req: Extract<WorkerRequest, { op: 'load' }>): Promise<WorkerReply> {
    try {
      const chosen = await selectProvider(req.candidates, (ep) => ort.InferenceSession.create(req.graph, sessionOptions(ep, req.settings)), req.skipped);
      session = chosen.value;
      return { id: req.id, ok: true, ep: chosen.ep, attempts: chosen.attempts, inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
    } catch (e) {
      const attempts = (e as { attempts?: EpAttempt[] }).attempts ?? [];
      return { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e), attempts };
    }
  }

  async function run(req: Extract<WorkerRequest, { op: 'run' }>): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }> {
    try {
      if (!session) throw new Error('no session loaded');
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(req.feeds as WireFeeds)) {
        checkWire(name, t);
        feeds[name] = new ort.Tensor(t.type, typedView(t) as never, t.dims);
      }
      const results = await session.run(feeds);
      const outputs: WireFeeds = {};
      for (const [name, t] of Object.entries(results)) outputs[name] = fromOrt(t);
      return { reply: { id: req.id, ok: true, outputs }, transfer: transferList(outputs) };
    } catch (e) {
      return { reply: { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) }, transfer: [] };
    }
  }

  return {
    async handle(req) {
      if (req.op === 'load') return { reply: await load(req), transfer: [] };
      if (req.op === 'run') return run(req);
      try { await session?.release(); } catch { /* released anyway */ }
      session = null;
      return { reply: { id: req.id, ok: true }, transfer: [] };
    },
  };
}
