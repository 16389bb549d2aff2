/**
 * The CPU's fp32 throughput as ONNX Runtime reaches it, measured in the calling run: one large MatMul with
 * a constant (prepacked) weight, and one 3×3 Conv of the UNet's full-resolution shape. The better of the
 * two is the ceiling: no graph of the same arithmetic runs faster than its FLOPs divided by it.
 */
import { GraphBuilder, runFloat, sessionFor, type SessionOptions } from '../../engine/onnx/index.ts';
import { uniformInput } from './inputs.ts';

export interface Ceiling { gemmGflops: number; convGflops: number; best: number }

async function measure(g: GraphBuilder, feeds: Parameters<typeof runFloat>[1], flops: number, runs: number, opts: SessionOptions): Promise<number> {
  const s = await sessionFor(g, opts);
  await runFloat(s, feeds);
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await runFloat(s, feeds);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  await s.release();
  return flops / best / 1e9;
}

export async function measureCeiling(opts: SessionOptions = {}, runs = 4): Promise<Ceiling> {
  const [M, K, N] = [8192, 1280, 1280];
  const mm = new GraphBuilder({ name: 'gemm-ceiling' });
  const a = mm.input('a', 'float32', [M, K]);
  mm.output(mm.op('MatMul', [a, mm.constant(uniformInput(K * N, 7), [K, N])]), 'y');
  const gemmGflops = await measure(mm, { a: { data: uniformInput(M * K, 8), dims: [M, K] } }, 2 * M * K * N, runs, opts);

  const [B, C, H] = [2, 320, 64];
  const cv = new GraphBuilder({ name: 'conv-ceiling' });
  const x = cv.input('x', 'float32', [B, C, H, H]);
  const w = cv.constant(uniformInput(C * C * 9, 9), [C, C, 3, 3]);
  cv.output(cv.op('Conv', [x, w], { pads: [1, 1, 1, 1] }), 'y');
  const convGflops = await measure(cv, { x: { data: uniformInput(B * C * H * H, 10), dims: [B, C, H, H] } }, 2 * B * H * H * 9 * C * C, runs, opts);
  return { gemmGflops, convGflops, best: Math.max(gemmGflops, convGflops) };
}
