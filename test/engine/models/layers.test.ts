import { test, after } from 'node:test';
import * as fs from 'node:fs';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { GraphBuilder, runFloat, sessionFor, type Ep } from '../../../engine/onnx/index.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { attention, conv2d, downsample2x, geglu, gelu, groupNorm, layerNorm, linear, quickGelu, resBlock, silu, upsample2x, VAE_RES, LDM_RES } from '../../../engine/models/layers/index.ts';
import { attentionRef, conv2dRef, geluRef, groupNormRef, layerNormRef, linearRef, maxDiff, quickGeluRef, rand, siluRef, tmpDir } from '../onnx/ref.ts';

const dir = tmpDir('layers');
let seed = 100;
const W: Record<string, { shape: number[]; data: Float32Array }> = {};
function p(name: string, shape: number[], scale = 0.5): void {
  W[name] = { shape, data: rand(shape.reduce((a, b) => a * b, 1), seed++, scale) };
}
p('m.fc1.weight', [6, 4]); p('m.fc1.bias', [6]);
p('m.conv.weight', [5, 3, 3, 3]); p('m.conv.bias', [5]);
p('m.norm.weight', [6], 1); p('m.norm.bias', [6]);
p('m.ff.proj.weight', [8, 4]); p('m.ff.proj.bias', [8]);
// ResBlock 4 → 6 channels with a time embedding, LDM names; and a VAE block 4 → 4 without shortcut.
for (const [pre, n, cin, cout] of [['r', LDM_RES, 4, 6], ['v', VAE_RES, 4, 4]] as const) {
  p(`${pre}.${n.norm1}.weight`, [cin], 1); p(`${pre}.${n.norm1}.bias`, [cin]);
  p(`${pre}.${n.conv1}.weight`, [cout, cin, 3, 3], 0.3); p(`${pre}.${n.conv1}.bias`, [cout]);
  p(`${pre}.${n.norm2}.weight`, [cout], 1); p(`${pre}.${n.norm2}.bias`, [cout]);
  p(`${pre}.${n.conv2}.weight`, [cout, cout, 3, 3], 0.3); p(`${pre}.${n.conv2}.bias`, [cout]);
  if (cin !== cout) { p(`${pre}.${n.skip}.weight`, [cout, cin, 1, 1]); p(`${pre}.${n.skip}.bias`, [cout]); }
}
p('r.emb_layers.1.weight', [6, 5]); p('r.emb_layers.1.bias', [6]);
const tensors: Record<string, TensorToWrite> = {};
for (const [k, v] of Object.entries(W)) tensors[k] = { dtype: 'F32', shape: v.shape, data: v.data };
const file0 = path.join(dir, 'layers.safetensors');
writeSafetensors(file0, tensors);
const file = SafetensorsFile.open(file0);
const w = (k: string) => W[k]!.data;
after(() => { file.close(); fs.rmSync(dir, { recursive: true, force: true }); });

async function run(build: (g: GraphBuilder, x: string) => string, x: Float32Array, dims: number[], ep: Ep = 'cpu', extra?: { name: string; data: Float32Array; dims: number[] }) {
  const g = new GraphBuilder({ ep });
  const xi = g.input('x', 'float32', dims);
  if (extra) g.input(extra.name, 'float32', extra.dims);
  g.output(build(g, xi), 'y');
  const s = await sessionFor(g, { threads: 1 });
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = { x: { data: x, dims } };
  if (extra) feeds[extra.name] = extra;
  const r = (await runFloat(s, feeds)).y!;
  await s.release();
  return r;
}

test('linear: FusedMatMul (cpu) and MatMul+Transpose (webgpu variant) both match x·Wᵀ+b', async () => {
  const x = rand(2 * 3 * 4, 1);
  const ref = linearRef(x, w('m.fc1.weight'), w('m.fc1.bias'), 4, 6);
  for (const ep of ['cpu', 'webgpu'] as const) {
    const y = await run((g, xi) => linear(g, file, 'm.fc1', xi), x, [2, 3, 4], ep);
    assert.deepEqual(y.dims, [2, 3, 6]);
    assert.ok(maxDiff(y.data, ref) < 1e-5, ep);
  }
  const rows = await run((g, xi) => linear(g, file, 'm.fc1', xi, { rows: [2, 5] }), x, [2, 3, 4]);
  const refRows = linearRef(x, w('m.fc1.weight').slice(8, 20), w('m.fc1.bias').slice(2, 5), 4, 3);
  assert.ok(maxDiff(rows.data, refRows) < 1e-5);
});

test('conv2d: same padding, and stride-2 downsample with the VAE\'s right/bottom-only pad and the UNet\'s pad', async () => {
  const dims = [1, 3, 4, 6];
  const x = rand(72, 2);
  const cw = w('m.conv.weight'), cb = w('m.conv.bias');
  const same = await run((g, xi) => conv2d(g, file, 'm.conv', xi), x, dims);
  const r1 = conv2dRef(x, dims, cw, [5, 3, 3, 3], cb, 1, [1, 1, 1, 1]);
  assert.deepEqual(same.dims, r1.dims);
  assert.ok(maxDiff(same.data, r1.y) < 1e-5);
  const vae = await run((g, xi) => downsample2x(g, file, 'm.conv', xi, 'vae'), x, dims);
  const r2 = conv2dRef(x, dims, cw, [5, 3, 3, 3], cb, 2, [0, 0, 1, 1]);
  assert.deepEqual(vae.dims, r2.dims);
  assert.ok(maxDiff(vae.data, r2.y) < 1e-5);
  const ldm = await run((g, xi) => downsample2x(g, file, 'm.conv', xi, 'ldm'), x, dims);
  const r3 = conv2dRef(x, dims, cw, [5, 3, 3, 3], cb, 2, [1, 1, 1, 1]);
  assert.ok(maxDiff(ldm.data, r3.y) < 1e-5);
  assert.ok(maxDiff(vae.data, r3.y) > 1e-3, 'the two padding styles really differ');
});

test('groupNorm (GroupNormalization-21, per-channel affine) and layerNorm', async () => {
  const dims = [2, 6, 3, 3];
  const x = rand(108, 3, 2);
  const gn = await run((g, xi) => groupNorm(g, file, 'm.norm', xi, { groups: 3, eps: 1e-6 }), x, dims);
  assert.ok(maxDiff(gn.data, groupNormRef(x, dims, 3, w('m.norm.weight'), w('m.norm.bias'), 1e-6)) < 1e-5);
  const lx = rand(2 * 4 * 6, 4, 2);
  const ln = await run((g, xi) => layerNorm(g, file, 'm.norm', xi), lx, [2, 4, 6]);
  assert.ok(maxDiff(ln.data, layerNormRef(lx, 6, w('m.norm.weight'), w('m.norm.bias'), 1e-5)) < 1e-5);
});

test('activations: gelu (erf), quick_gelu, silu', async () => {
  const x = rand(64, 5, 4);
  for (const [fn, ref] of [[gelu, geluRef], [quickGelu, quickGeluRef], [silu, siluRef]] as const) {
    const y = await run((g, xi) => fn(g, xi), x, [64]);
    assert.ok(maxDiff(y.data, Array.from(x, ref)) < 2e-6, fn.name);
  }
});

test('geglu: two byte-range halves of one weight equal proj → chunk → h·gelu(gate)', async () => {
  const x = rand(3 * 4, 6);
  const full = linearRef(x, w('m.ff.proj.weight'), w('m.ff.proj.bias'), 4, 8);
  const ref = new Float32Array(12);
  for (let r = 0; r < 3; r++) for (let i = 0; i < 4; i++) ref[r * 4 + i] = full[r * 8 + i]! * geluRef(full[r * 8 + 4 + i]!);
  const y = await run((g, xi) => geglu(g, file, 'm.ff.proj', xi), x, [1, 3, 4]);
  assert.ok(maxDiff(y.data, ref) < 1e-5);
});

test('attention: MultiHeadAttention cross, self and causal match softmax(qkᵀ/√d)v', async () => {
  const B = 2, S = 5, L = 3, H = 2, D = 4, C = 8;
  const q = rand(B * S * C, 7), k = rand(B * L * C, 8), v = rand(B * L * C, 9);
  const g = new GraphBuilder();
  const qi = g.input('q', 'float32', [B, S, C]), ki = g.input('k', 'float32', [B, L, C]), vi = g.input('v', 'float32', [B, L, C]);
  g.output(attention(g, qi, ki, vi, H), 'cross');
  g.output(attention(g, qi, qi, qi, H), 'self');
  g.output(attention(g, qi, qi, qi, H, { causal: true }), 'causal');
  const s = await sessionFor(g, { threads: 1 });
  const r = await runFloat(s, { q: { data: q, dims: [B, S, C] }, k: { data: k, dims: [B, L, C] }, v: { data: v, dims: [B, L, C] } });
  assert.ok(maxDiff(r.cross!.data, attentionRef(q, k, v, B, S, L, H, D)) < 1e-5);
  assert.ok(maxDiff(r.self!.data, attentionRef(q, q, q, B, S, S, H, D)) < 1e-5);
  assert.ok(maxDiff(r.causal!.data, attentionRef(q, q, q, B, S, S, H, D, true)) < 1e-5);
  assert.ok(maxDiff(r.causal!.data, r.self!.data) > 1e-3, 'the causal mask changes the result');
  await s.release();
});

test('resBlock with time embedding and 1×1 shortcut (LDM names), and without (VAE names); nearest upsample', async () => {
  const dims = [1, 4, 4, 4];
  const x = rand(64, 11);
  const temb = rand(5, 12);
  const gnRef = (t: Float32Array, d: number[], k: string) => groupNormRef(t, d, 2, w(`${k}.weight`), w(`${k}.bias`), 1e-5);
  const siluA = (t: Float32Array) => t.map(siluRef);
  // reference LDM block
  let h = conv2dRef(siluA(gnRef(x, dims, 'r.in_layers.0')), dims, w('r.in_layers.2.weight'), [6, 4, 3, 3], w('r.in_layers.2.bias'), 1, [1, 1, 1, 1]).y;
  const e = linearRef(temb.map(siluRef), w('r.emb_layers.1.weight'), w('r.emb_layers.1.bias'), 5, 6);
  h = h.map((v, i) => v + e[Math.floor(i / 16)]!);
  const d6 = [1, 6, 4, 4];
  h = conv2dRef(siluA(gnRef(h, d6, 'r.out_layers.0')), d6, w('r.out_layers.3.weight'), [6, 6, 3, 3], w('r.out_layers.3.bias'), 1, [1, 1, 1, 1]).y;
  const skip = conv2dRef(x, dims, w('r.skip_connection.weight'), [6, 4, 1, 1], w('r.skip_connection.bias'), 1, [0, 0, 0, 0]).y;
  const ref = h.map((v, i) => v + skip[i]!);
  const y = await run((g, xi) => resBlock(g, file, 'r', xi, { names: LDM_RES, temb: 't', groups: 2, eps: 1e-5 }), x, dims, 'cpu', { name: 't', data: temb, dims: [1, 5] });
  assert.ok(maxDiff(y.data, ref) < 1e-4);
  const yv = await run((g, xi) => resBlock(g, file, 'v', xi, { groups: 2 }), x, dims);
  assert.deepEqual(yv.dims, dims);
  const up = await run((g, xi) => upsample2x(g, file, 'v.conv1', xi), x, dims);
  const nn = new Float32Array(4 * 64);
  for (let c = 0; c < 4; c++) for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) nn[(c * 8 + i) * 8 + j] = x[(c * 4 + (i >> 1)) * 4 + (j >> 1)]!;
  const upRef = conv2dRef(nn, [1, 4, 8, 8], w('v.conv1.weight'), [4, 4, 3, 3], w('v.conv1.bias'), 1, [1, 1, 1, 1]).y;
  assert.ok(maxDiff(up.data, upRef) < 1e-5);
});
