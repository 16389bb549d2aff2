import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, runFloat, sessionFor } from '../../../engine/onnx/index.ts';
import { fourierFilter, freeuOutputPatch, freeuPatch, applyFreeU, type FreeUParams, type FreeUVersion } from '../../../engine/models/freeu/index.ts';
import { loadUNet, type UNetSession } from '../../../engine/models/unet/load.ts';
import { writeSyntheticUNet, type SyntheticUNetSpec } from '../../../engine/models/unet/synthetic.ts';
import type { BuildUNetOptions } from '../../../engine/models/unet/graph.ts';
import { SdModel } from '../../../engine/models/sd/model.ts';
import type { DetectedModel } from '../../../engine/models/detect.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';

function rand(n: number, seed: number): Float32Array {
  const d = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; d[i] = (s / 2 ** 32) * 2 - 1; }
  return d;
}
const maxDiff = (a: Float32Array, b: Float32Array | Float64Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/**
 * ComfyUI's Fourier_filter(threshold=1) written out literally with a naive complex DFT: fftn, fftshift,
 * the centre window [H//2−1, H//2+1) × [W//2−1, W//2+1) multiplied by `scale` (Python slicing: a −1 start
 * on a size-1 axis clamps to 0), ifftshift, ifftn, real part. Independent of the MatMul formulation.
 */
function referenceFilter(x: Float32Array, B: number, C: number, H: number, W: number, scale: number): Float64Array {
  const out = new Float64Array(x.length);
  const win = (n: number): [number, number] => {
    const c = Math.floor(n / 2);
    return [c - 1 < 0 ? c - 1 + n : c - 1, Math.min(n, c + 1)]; // Python's negative slice start
  };
  const [y0, y1] = win(H);
  const [x0, x1] = win(W);
  for (let p = 0; p < B * C; p++) {
    const re = new Float64Array(H * W), im = new Float64Array(H * W);
    for (let ky = 0; ky < H; ky++) for (let kx = 0; kx < W; kx++) {
      let r = 0, i = 0;
      for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) {
        const a = -2 * Math.PI * (ky * y / H + kx * xx / W);
        const v = x[p * H * W + y * W + xx]!;
        r += v * Math.cos(a); i += v * Math.sin(a);
      }
      // shifted position of frequency k is (k + n//2) mod n
      const sy = (ky + Math.floor(H / 2)) % H, sx = (kx + Math.floor(W / 2)) % W;
      const m = sy >= y0 && sy < y1 && sx >= x0 && sx < x1 ? scale : 1;
      re[ky * W + kx] = r * m; im[ky * W + kx] = i * m;
    }
    for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) {
      let r = 0;
      for (let ky = 0; ky < H; ky++) for (let kx = 0; kx < W; kx++) {
        const a = 2 * Math.PI * (ky * y / H + kx * xx / W);
        r += re[ky * W + kx]! * Math.cos(a) - im[ky * W + kx]! * Math.sin(a);
      }
      out[p * H * W + y * W + xx] = r / (H * W);
    }
  }
  return out;
}

async function runGraph(build: (g: GraphBuilder, inputs: string[]) => string[], feeds: Record<string, Tensor>): Promise<Float32Array[]> {
  const g = new GraphBuilder();
  const names = Object.entries(feeds).map(([k, t]) => g.input(k, 'float32', t.shape.map((_, i) => `d${k}${i}`)));
  build(g, names).forEach((v, i) => g.output(v, `y${i}`));
  const s = await sessionFor(g, { threads: 1 });
  try {
    const r = await runFloat(s, Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { data: t.data, dims: t.shape }])));
    return Object.keys(r).sort().map((k) => r[k]!.data);
  } finally {
    await s.release();
  }
}

test('Fourier filter matches a literal fftn/fftshift/mask/ifftn reference, one graph for every size', async () => {
  for (const [H, W] of [[6, 5], [4, 4], [2, 3], [1, 4], [7, 1]] as const) {
    const x = rand(2 * 3 * H * W, H * 31 + W);
    const [y] = await runGraph((g, [xi]) => [fourierFilter(g, xi!, 0.2)], { x: { shape: [2, 3, H, W], data: x } });
    const ref = referenceFilter(x, 2, 3, H, W, 0.2);
    assert.ok(maxDiff(y!, ref) < 2e-6, `${H}×${W}: max diff ${maxDiff(y!, ref)}`);
    assert.ok(maxDiff(y!, x) > 0.01, `${H}×${W}: the filter changed nothing`);
  }
  const x = rand(3 * 5 * 6, 9);
  const [same] = await runGraph((g, [xi]) => [fourierFilter(g, xi!, 1)], { x: { shape: [1, 3, 5, 6], data: x } });
  assert.deepEqual(same, x, 'scale 1 is the identity, bit for bit');
});

/** FreeU's output_block_patch on one site, written with plain loops. */
function referencePatch(version: FreeUVersion, h: Float32Array, B: number, C: number, H: number, W: number, b: number): Float32Array {
  const out = h.slice();
  for (let n = 0; n < B; n++) {
    const mean = new Float64Array(H * W);
    for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) mean[i]! += h[(n * C + c) * H * W + i]! / C;
    const mn = Math.min(...mean), mx = Math.max(...mean);
    for (let c = 0; c < Math.floor(C / 2); c++) for (let i = 0; i < H * W; i++) {
      const f = version === 'v1' ? b : (b - 1) * ((mean[i]! - mn) / (mx - mn)) + 1;
      out[(n * C + c) * H * W + i]! *= f;
    }
  }
  return out;
}

test('the output-block hook scales the backbone half (v1 constant, v2 mean-map) and filters the skip only at 4× / 2× model_channels', async () => {
  const p: FreeUParams = { b1: 1.5, b2: 1.2, s1: 0.5, s2: 0.3 };
  const [B, H, W] = [2, 4, 6];
  for (const version of ['v1', 'v2'] as const) {
    for (const [hC, b, s] of [[32, p.b1, p.s1], [16, p.b2, p.s2], [8, 1, 1]] as const) {
      const h = rand(B * hC * H * W, hC), skip = rand(B * 8 * H * W, hC + 1);
      const [ho, so] = await runGraph((g, [hi, si]) => {
        const r = freeuOutputPatch(version, p)({ g, block: 0, h: hi!, skip: si!, hChannels: hC, skipChannels: 8, modelChannels: 8 });
        return [r.h, r.skip];
      }, { h: { shape: [B, hC, H, W], data: h }, skip: { shape: [B, 8, H, W], data: skip } });
      assert.ok(maxDiff(ho!, referencePatch(version, h, B, hC, H, W, b)) < 1e-5, `${version} h at ${hC} channels`);
      assert.ok(maxDiff(so!, referenceFilter(skip, B, 8, H, W, s)) < 2e-6, `${version} skip at ${hC} channels`);
      if (hC === 8) assert.deepEqual([ho, so], [h, skip], 'other widths pass through');
    }
  }
});

// Three levels so that output blocks see h at 4× (128) and 2× (64) model_channels.
const SPEC: SyntheticUNetSpec = { modelChannels: 32, channelMult: [1, 2, 4], numResBlocks: 1, transformerDepth: [1, 0, 0], contextDim: 16 };
let dir: string;
const sessions: UNetSession[] = [];
async function open(o: BuildUNetOptions = {}): Promise<UNetSession> {
  const s = await loadUNet(join(dir, 'unet.safetensors'), { numHeads: 4, session: { threads: 1 }, ...o });
  sessions.push(s);
  return s;
}
const patched = (version: FreeUVersion, p: FreeUParams): BuildUNetOptions => freeuPatch(version, p).build!({});

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-freeu-'));
  writeSyntheticUNet(join(dir, 'unet.safetensors'), SPEC);
});
after(async () => {
  for (const s of sessions) await s.release();
  rmSync(dir, { recursive: true, force: true });
});

test('FreeU in the UNet: b = s = 1 is the plain UNet bit for bit; the defaults change it, v1 and v2 differently', async () => {
  const x: Tensor = { shape: [1, 4, 16, 16], data: rand(4 * 256, 3) };
  const inputs = { x, timesteps: Float32Array.of(500), context: { shape: [1, 5, 16], data: rand(80, 4) } };
  const plain = (await (await open()).run(inputs)).data;
  const one = { b1: 1, b2: 1, s1: 1, s2: 1 };
  for (const v of ['v1', 'v2'] as const) assert.deepEqual((await (await open(patched(v, one))).run(inputs)).data, plain, `${v} neutral`);
  const v1 = (await (await open(patched('v1', { b1: 1.1, b2: 1.2, s1: 0.9, s2: 0.2 }))).run(inputs)).data;
  const v2 = (await (await open(patched('v2', { b1: 1.3, b2: 1.4, s1: 0.9, s2: 0.2 }))).run(inputs)).data;
  assert.ok(maxDiff(v1, plain) > 1e-3, `v1 changed the output by ${maxDiff(v1, plain)}`);
  assert.ok(maxDiff(v2, plain) > 1e-3 && maxDiff(v2, v1) > 1e-3);
  assert.ok(v1.every(Number.isFinite) && v2.every(Number.isFinite));
  // Only the skip filter (s1) changes something when b = 1: the hook reaches the 4× level.
  const sOnly = (await (await open(patched('v1', { b1: 1, b2: 1, s1: 0.5, s2: 1 }))).run(inputs)).data;
  assert.ok(maxDiff(sOnly, plain) > 1e-4);
});

test('applyFreeU clones the MODEL, stacks patches and names them in the session key', () => {
  const detected = { kind: 'checkpoint', family: 'sd1', prediction: 'eps', unet: { modelChannels: 32 } } as unknown as DetectedModel;
  const m = new SdModel({ source: { path: '/m.safetensors', prefix: 'model.diffusion_model.', heads: {} }, family: 'sd1', detected });
  const a = applyFreeU(m, 'v1', { b1: 1.1, b2: 1.2, s1: 0.9, s2: 0.2 });
  const b = applyFreeU(a, 'v2', { b1: 1.3, b2: 1.4, s1: 0.9, s2: 0.2 });
  assert.equal(m.patches.length, 0);
  assert.deepEqual(b.patches.map((p) => p.kind), ['freeu', 'freeu_v2']);
  assert.match(b.sessionKey, /freeu:b1=1\.1,b2=1\.2,s1=0\.9,s2=0\.2\|freeu_v2:b1=1\.3/);
  assert.notEqual(a.sessionKey, applyFreeU(m, 'v1', { b1: 1.1, b2: 1.2, s1: 0.9, s2: 0.3 }).sessionKey);
  assert.equal(b.patches.reduce<BuildUNetOptions>((o, p) => p.build!(o), {}).outputBlockPatches?.length, 2);
  const flux = new SdModel({ source: { path: '/f', prefix: '', heads: {} }, family: 'flux', detected: { ...detected, unet: undefined, family: 'flux' } as DetectedModel });
  assert.throws(() => applyFreeU(flux, 'v1', { b1: 1, b2: 1, s1: 1, s2: 1 }), /FreeU patches the output blocks of an SD1\/SD2\/SDXL UNet/);
});
