import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { fluxDims } from '../../../engine/models/flux/config.ts';
import { FluxModel, patchify, unpatchify } from '../../../engine/models/flux/model.ts';
import { applyFlux, fluxModelFn } from '../../../engine/models/flux/apply.ts';
import { positionIds, ropeTables } from '../../../engine/models/flux/rope.ts';
import { writeSyntheticFlux, type SyntheticFluxSpec } from '../../../engine/models/flux/synthetic.ts';
import { FlowModelSampling } from '../../../engine/sampling/model-sampling.ts';
import { readCaseTensors, compareTensor } from '../../../engine/conformance/runner.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { maxDiff, rand } from '../../support/tensors.ts';

// Head dim 16 is not BFL's 128, so the RoPE axes come from metadata, as the conformance model's do.
const DEV: SyntheticFluxSpec = { hidden: 32, heads: 2, depth: 1, depthSingle: 2, contextDim: 24, vecDim: 12, guidance: true, axesDim: [2, 6, 8], seed: 7 };
const SCHNELL: SyntheticFluxSpec = { ...DEV, guidance: false, seed: 8 };

let dir: string;
let dev: FluxModel;
let schnell: FluxModel;


before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-flux-'));
  writeSyntheticFlux(join(dir, 'dev.safetensors'), DEV);
  writeSyntheticFlux(join(dir, 'schnell.safetensors'), SCHNELL);
  dev = await FluxModel.open(join(dir, 'dev.safetensors'), { threads: 1 });
  schnell = await FluxModel.open(join(dir, 'schnell.safetensors'), { threads: 1 });
});

after(async () => {
  await dev?.close();
  await schnell?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('position ids: text rows zero, image patches (0, row, col) in raster order', () => {
  const ids = positionIds(2, 2, 3);
  assert.deepEqual(Array.from(ids), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 1, 0, 0, 1, 1, 0, 1, 2]);
});

test('RoPE tables: per-axis frequencies theta^(-2j/d) concatenated, angle = id · omega', () => {
  // axes [2, 2, 4]: omegas [1 | 1 | 1, 10000^-0.5 = 0.01]; token (0, 1, 2) → angles [0, 1, 2, 0.02].
  const t = ropeTables(Float32Array.of(0, 0, 0, 0, 1, 2), [2, 2, 4]);
  assert.equal(t.pairs, 4);
  const want = [0, 1, 2, 0.02];
  want.forEach((a, j) => {
    assert.equal(t.cos[j], 1);
    assert.equal(t.sin[j], 0);
    assert.equal(t.cos[4 + j], Math.fround(Math.cos(a)));
    assert.equal(t.sin[4 + j], Math.fround(Math.sin(a)));
  });
});

test('dims come from shapes: hidden, heads from the QK-norm scale, depths, MLP width, dev vs schnell', () => {
  const f = SafetensorsFile.open(join(dir, 'dev.safetensors'));
  const s = SafetensorsFile.open(join(dir, 'schnell.safetensors'));
  try {
    const d = fluxDims(f);
    assert.deepEqual([d.hiddenSize, d.headDim, d.numHeads, d.depth, d.depthSingle, d.mlpHidden, d.contextInDim, d.vecInDim], [32, 16, 2, 1, 2, 128, 24, 12]);
    assert.deepEqual(d.axesDim, [2, 6, 8]);
    assert.equal(d.variant, 'dev');
    assert.equal(fluxDims(s).variant, 'schnell');
  } finally {
    f.close();
    s.close();
  }
});

test('patchify/unpatchify round-trip odd sizes; padding wraps around (circular)', () => {
  const x = rand([2, 3, 5, 7], 3);
  const p = patchify(x.data, 2, 3, 5, 7);
  assert.equal(p.length, 2 * 3 * 4 * 3 * 4);
  // Patch (row 2, col 3) of batch 0, channel 0: rows 4 and (5→0), cols 6 and (7→0).
  const o = (2 * 4 + 3) * 12;
  assert.equal(p[o + 3], x.data[0 * 7 + 0]);
  assert.equal(p[o + 1], x.data[4 * 7 + 0]);
  assert.deepEqual(unpatchify(p, 2, 3, 5, 7), x.data);
});

test('dev: runs, needs guidance, and guidance changes the output; schnell ignores it', async () => {
  const x = rand([1, 16, 6, 4], 11), ctx = rand([1, 5, 24], 12), y = rand([1, 12], 13);
  const a = await dev.run(x, [0.7], ctx, y, [3.5]);
  assert.deepEqual(a.shape, [1, 16, 6, 4]);
  assert.ok(a.data.every(Number.isFinite));
  const b = await dev.run(x, [0.7], ctx, y, [1.0]);
  assert.ok(maxDiff(a.data, b.data) > 1e-4, 'guidance_in has no effect');
  await assert.rejects(dev.run(x, [0.7], ctx, y), /guidance/);
  const s1 = await schnell.run(x, [0.7], ctx, y, [3.5]);
  const s2 = await schnell.run(x, [0.7], ctx, y);
  assert.equal(maxDiff(s1.data, s2.data), 0);
});

test('batch rows are independent: one B=2 call equals two B=1 calls', async () => {
  const x = rand([2, 16, 4, 6], 21), ctx = rand([2, 3, 24], 22), y = rand([2, 12], 23);
  const both = await dev.run(x, [0.9, 0.3], ctx, y, [3.5, 2]);
  const n = x.data.length / 2;
  for (const b of [0, 1]) {
    const one = await dev.run({ shape: [1, 16, 4, 6], data: x.data.slice(b * n, (b + 1) * n) }, [[0.9, 0.3][b]!],
      { shape: [1, 3, 24], data: ctx.data.slice(b * 72, (b + 1) * 72) }, { shape: [1, 12], data: y.data.slice(b * 12, (b + 1) * 12) }, [[3.5, 2][b]!]);
    assert.ok(maxDiff(one.data, both.data.subarray(b * n, (b + 1) * n)) < 1e-5);
  }
});

test('checkpoint prefix model.diffusion_model. gives the same network', async () => {
  const p = join(dir, 'prefixed.safetensors');
  writeSyntheticFlux(p, { ...DEV, prefix: 'model.diffusion_model.' });
  const m = await FluxModel.open(p, { threads: 1 });
  try {
    const x = rand([1, 16, 4, 4], 31), ctx = rand([1, 4, 24], 32), y = rand([1, 12], 33);
    assert.equal(maxDiff((await m.run(x, [0.5], ctx, y, [3])).data, (await dev.run(x, [0.5], ctx, y, [3])).data), 0);
  } finally {
    await m.close();
  }
});

test('apply: denoised = x − σ·v; the ModelFn reads pooled y and guidance from the conditioning', async () => {
  const ms = new FlowModelSampling(1.15);
  const x = rand([1, 16, 4, 4], 41), ctx = rand([1, 4, 24], 42), y = rand([1, 12], 43);
  const v = await dev.run(x, [0.6], ctx, y, [2.5]);
  const r = await applyFlux(ms, dev, x, [0.6], ctx, y, [2.5]);
  for (let i = 0; i < x.data.length; i++) assert.ok(Math.abs(r.denoised[i]! - (x.data[i]! - 0.6 * v.data[i]!)) < 1e-6);
  const fn = fluxModelFn(dev, ms);
  const d = await fn(x, 0.6, [{ context: ctx, extra: { y, guidance: 2.5 } }]);
  assert.equal(maxDiff(d.data, r.denoised), 0);
  const d35 = await fn(x, 0.6, [{ context: ctx, extra: { y } }]);
  assert.equal(maxDiff(d35.data, (await applyFlux(ms, dev, x, [0.6], ctx, y, [3.5])).denoised), 0, 'default guidance is 3.5');
  await assert.rejects(fn(x, 0.6, [{ context: ctx }]), /pooled/);
});

const CONF = resolve(import.meta.dirname, '../../../../shared/conformance');
test('conformance: tiny_flux raw call and RoPE tables match ComfyUI', { skip: !existsSync(join(CONF, 'cases.json')) && 'no ../shared/conformance' }, async () => {
  const m = await FluxModel.open(join(CONF, 'models/unet/tiny_flux.safetensors'), { threads: 1 });
  try {
    const t = readCaseTensors(join(CONF, 'vectors/flux_dit_odd_7x9_t0.7_g4.0.safetensors'));
    const f = (k: string) => { const v = t.get(k)!; return { shape: v.shape, data: v.data as Float32Array }; };
    const out = await m.run(f('input.x'), f('input.timestep').data, f('input.context'), f('input.y'), f('input.guidance').data);
    const cmp = compareTensor(out.data, f('expected.out').data, { abs: 1e-5, rel_to_max: 1e-4 });
    assert.ok(cmp.ok, `err ${cmp.err} > ${cmp.tol}`);
    // aux.pe [1, 1, L, pairs, 2, 2] = [[cos, −sin], [sin, cos]] per pair.
    const pe = f('aux.pe').data;
    const tab = ropeTables(positionIds(256, 4, 5), m.dims.axesDim);
    for (let i = 0; i < tab.cos.length; i++) {
      assert.equal(tab.cos[i], pe[i * 4]);
      assert.equal(tab.sin[i], pe[i * 4 + 2]);
    }
  } finally {
    await m.close();
  }
});
