import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { GraphBuilder, runFloat, sessionFor } from '../../../engine/onnx/index.ts';
import { ensureQuantized } from '../../../engine/models/quant/cache.ts';
import { quantLinear } from '../../../engine/models/quant/linear.ts';
import { dequantizeMatrix, quantizeMatrix, type QuantSettings } from '../../../engine/models/quant/nbits.ts';
import { FluxModel } from '../../../engine/models/flux/model.ts';
import { writeSyntheticFlux, type SyntheticFluxSpec } from '../../../engine/models/flux/synthetic.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';

let dir: string;

function rand(n: number, seed: number, amp = 1): Float32Array {
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = ((s / 4294967296) * 2 - 1) * amp;
  }
  return data;
}
const t = (shape: number[], seed: number): Tensor => ({ shape, data: rand(shape.reduce((a, b) => a * b, 1), seed) });

before(() => { dir = mkdtempSync(join(tmpdir(), 'weft-quant-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

test('block quantization: every weight within half a step of its block; zeros stay exact', () => {
  const N = 5, K = 70;
  const w = rand(N * K, 3, 2);
  w.fill(0, 0, K); // an all-zero row
  for (const s of [{ bits: 8, blockSize: 32 }, { bits: 4, blockSize: 16 }, { bits: 4, blockSize: 32, symmetric: true }] as QuantSettings[]) {
    const q = quantizeMatrix(w, N, K, s);
    const d = dequantizeMatrix(q);
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++) {
        const step = q.scales[n * q.kBlocks + Math.floor(k / s.blockSize)]!;
        assert.ok(Math.abs(d[n * K + k]! - w[n * K + k]!) <= step / 2 + 1e-7, `${JSON.stringify(s)} [${n},${k}]`);
      }
    for (let k = 0; k < K; k++) assert.equal(d[k], 0);
  }
});

test('MatMulNBits reads our layout: ORT output equals x @ dequantized(W)ᵀ + b (K not a block multiple)', async () => {
  const N = 12, K = 100, M = 3;
  const w = rand(N * K, 5), bias = rand(N, 6);
  const src = join(dir, 'lin.safetensors');
  writeSafetensors(src, { 'l.weight': { dtype: 'F32', shape: [N, K], data: w }, 'l.bias': { dtype: 'F32', shape: [N], data: bias } });
  const file = SafetensorsFile.open(src);
  const x = rand(M * K, 7);
  try {
    for (const s of [{ bits: 8, blockSize: 32 }, { bits: 4, blockSize: 16 }, { bits: 4, blockSize: 64 }, { bits: 4, blockSize: 32, symmetric: true }] as QuantSettings[]) {
      const r = ensureQuantized(file, ['l.weight'], s, join(dir, 'cache-lin'));
      const g = new GraphBuilder({ name: 'qlin' });
      g.output(quantLinear(g, file, { file: r.file, bits: s.bits, blockSize: s.blockSize }, 'l', g.input('x', 'float32', [M, K])), 'y');
      const y = (await runFloat(await sessionFor(g, { threads: 1 }), { x: { data: x, dims: [M, K] } })).y!.data;
      const d = dequantizeMatrix(quantizeMatrix(w, N, K, s));
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let ref = bias[n]!;
          for (let k = 0; k < K; k++) ref += x[m * K + k]! * d[n * K + k]!;
          assert.ok(Math.abs(ref - y[m * N + n]!) < 1e-4, `${JSON.stringify(s)}: ${ref} vs ${y[m * N + n]}`);
        }
    }
  } finally {
    file.close();
  }
});

const SPEC: SyntheticFluxSpec = { hidden: 64, heads: 2, depth: 2, depthSingle: 2, contextDim: 24, vecDim: 12, guidance: true, axesDim: [4, 14, 14], seed: 3, dtype: 'BF16' };

function relErr(a: Float32Array, ref: Float32Array): number {
  let e = 0, m = 0;
  for (let i = 0; i < a.length; i++) { e = Math.max(e, Math.abs(a[i]! - ref[i]!)); m = Math.max(m, Math.abs(ref[i]!)); }
  return e / m;
}

test('quantized DiT stays close to the fp32 DiT (q8 < 2%, q4 < 20% of max|v|) and the cache is reused', async () => {
  const p = join(dir, 'flux.safetensors');
  writeSyntheticFlux(p, SPEC);
  const cacheDir = join(dir, 'cache');
  const x = t([1, 16, 8, 8], 1), ctx = t([1, 6, 24], 2), y = t([1, 12], 3);
  const fp = await FluxModel.open(p, { threads: 1 });
  const ref = (await fp.run(x, [0.8], ctx, y, [3.5])).data;
  await fp.close();
  const errs: Record<string, number> = {};
  for (const [quant, bound] of [['q8', 0.02], ['q4', 0.2]] as const) {
    const m = await FluxModel.open(p, { threads: 1, quant, cacheDir });
    assert.equal(m.load.quantReused, false);
    errs[quant] = relErr((await m.run(x, [0.8], ctx, y, [3.5])).data, ref);
    console.log(`${quant}: max error / max|v| = ${errs[quant]!.toExponential(2)}`);
    assert.ok(errs[quant]! < bound, `${quant}: relative error ${errs[quant]}`);
    assert.ok(errs[quant]! > 0, `${quant} changed nothing: the quantized weights are not used`);
    await m.close();
  }
  assert.ok(errs.q8! < errs.q4!, `q8 (${errs.q8}) should beat q4 (${errs.q4})`);
  const files = readdirSync(cacheDir);
  assert.equal(files.length, 2);
  const before = Object.fromEntries(files.map((f) => [f, statSync(join(cacheDir, f)).size]));
  const again = await FluxModel.open(p, { threads: 1, quant: 'q8', cacheDir });
  assert.equal(again.load.quantReused, true);
  assert.equal(again.load.quantMs, 0);
  await again.close();
  assert.deepEqual(Object.fromEntries(readdirSync(cacheDir).map((f) => [f, statSync(join(cacheDir, f)).size])), before);
  // A different file (other seed) must not hit the first one's cache.
  writeSyntheticFlux(p, { ...SPEC, seed: 4 });
  const other = await FluxModel.open(p, { threads: 1, quant: 'q8', cacheDir });
  assert.equal(other.load.quantReused, false);
  await other.close();
  assert.equal(readdirSync(cacheDir).length, 3);
});
