/**
 * IP-Adapter attn_mask: the reference's per-layer grid and torch bilinear resize against plain reference code,
 * the batch and padding rules, one attention site row by row, and whole-UNet runs on the conformance models
 * (all ones = no mask, all zeros = no adapter, a half mask in between; odd and padded latent sizes).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { GraphBuilder, createSession, runFloat } from '../../../engine/onnx/index.ts';
import { IpAdapterModel, batchPrompt, ipAdapterHook, layerMask, maskFeeds, maskGrid, openIpUNet, resizeBilinearTorch, type IpUNetSession } from '../../../engine/models/ipadapter/index.ts';
import { loadUNet, type UNetSession } from '../../../engine/models/unet/load.ts';
import { downsampledSize, headsFromMetadata, parseUNetConfig } from '../../../engine/models/unet/config.ts';
import { crossAttnSites } from '../../../engine/models/unet/graph.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { maxDiff, rand } from '../../support/tensors.ts';

const M = (p: string) => path.join('/work/shared/conformance/models', p);
const CKPT = M('tiny_sd15.safetensors');
const plain = IpAdapterModel.open(M('ipadapter/tiny_ip_adapter_sd15.safetensors'));
const opened = new Set<{ release(): Promise<void> }>();
after(async () => { for (const s of opened) await s.release(); });

/** torch's documented bilinear (align_corners=False) in double precision: src = max(0, (o + ½)·in/out − ½). */
function refBilinear(src: Float32Array, planes: number, h: number, w: number, H: number, W: number): Float32Array {
  const at = (o: number, n: number, N: number): [number, number, number] => {
    if (n === N) return [o, o, 0];
    const x = Math.max(0, ((o + 0.5) * n) / N - 0.5);
    const i = Math.floor(x);
    return [i, Math.min(i + 1, n - 1), x - i];
  };
  const out = new Float32Array(planes * H * W);
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        const [y0, y1, ly] = at(i, h, H);
        const [x0, x1, lx] = at(j, w, W);
        const v = (y: number, x: number) => src[(p * h + y) * w + x]!;
        out[(p * H + i) * W + j] = (1 - ly) * ((1 - lx) * v(y0, x0) + lx * v(y0, x1)) + ly * ((1 - lx) * v(y1, x0) + lx * v(y1, x1));
      }
  return out;
}

/** IPAdapter_plus's mask_h / mask_w, transcribed from CrossAttentionPatch.py. */
function refGrid(oh: number, ow: number, seq: number): [number, number] {
  const t = Math.trunc(oh / Math.sqrt((oh * ow) / seq));
  const mh = t + (seq % t !== 0 ? 1 : 0);
  return [mh, Math.floor(seq / mh)];
}

test('mask grid: the layer grid for usual sizes, the reference formula for odd ones', () => {
  assert.deepEqual(maskGrid(64, 64, 64 * 64), { h: 64, w: 64 });
  assert.deepEqual(maskGrid(72, 128, 18 * 32), { h: 18, w: 32 }, 'SDXL 1024×576 at its deepest level');
  assert.deepEqual(maskGrid(9, 8, 5 * 4), { h: 4, w: 5 }, 'a 9×8 latent: the 5×4 level gets a transposed grid');
  assert.deepEqual(maskGrid(14, 3, 7 * 2), { h: 9, w: 1 }, 'fewer cells than tokens: padded later');
  assert.throws(() => maskGrid(5, 7, 1), /too narrow/, 'the reference divides by zero here');
  for (const [H, W] of [[8, 12], [9, 8], [22, 5], [13, 13]] as const)
    for (const d of [1, 2, 4, 8]) {
      const seq = downsampledSize(H, d) * downsampledSize(W, d);
      const g = maskGrid(H, W, seq);
      assert.deepEqual([g.h, g.w], refGrid(H, W, seq), `${H}×${W} at /${d}`);
    }
});

test('the resize is torch bilinear (align_corners=False) for down- and upsampling', () => {
  const m = rand([2, 13, 17], 3, 0.5, 0.5);
  for (const [H, W] of [[5, 4], [4, 5], [9, 1], [1, 6], [13, 17], [26, 34], [7, 11]] as const) {
    const got = resizeBilinearTorch(m.data, 2, 13, 17, H, W);
    assert.ok(maxDiff(got, refBilinear(m.data, 2, 13, 17, H, W)) < 1e-6, `${H}×${W}`);
  }
});

test('per-layer masks: grid, resize, batch matching and padding as the reference builds them', () => {
  const sites = crossAttnSites(parseUNetConfig(SafetensorsFile.open(CKPT), { prefix: 'model.diffusion_model.' }));
  assert.deepEqual([...new Set(sites.map((s) => s.down))], [1, 2, 4, 8]);
  const mask = rand([2, 24, 20], 7, 0.5, 0.5);
  for (const [H, W] of [[8, 12], [9, 8], [22, 5]] as const) {
    const feeds = maskFeeds(mask, sites, [4, 4, H, W], 2, (d) => `m${d}`);
    for (const d of [1, 2, 4, 8]) {
      const seq = downsampledSize(H, d) * downsampledSize(W, d);
      const [gh, gw] = refGrid(H, W, seq);
      const small = refBilinear(mask.data, 2, 24, 20, gh, gw);
      const pad = Math.floor((seq - gh * gw) / 2);
      const f = feeds[`m${d}`]!;
      assert.deepEqual(f.shape, [4, seq, 1]);
      for (let r = 0; r < 4; r++) {
        const want = new Float32Array(seq);
        want.set(small.subarray((r % 2) * gh * gw, ((r % 2) + 1) * gh * gw), pad);
        assert.ok(maxDiff(f.data.subarray(r * seq, (r + 1) * seq), want) < 1e-6, `${H}×${W} /${d} row ${r}`);
      }
    }
  }
  // tensor_to_size over the prompt batch (last mask repeated, extra ones dropped), then repeated per chunk.
  const two: Tensor = { shape: [3, 2, 2], data: Float32Array.of(...Array(4).fill(0.25), ...Array(4).fill(0.75), ...Array(4).fill(0.5)) };
  const firsts = (rows: number, bp: number, m = two) => Array.from({ length: rows }, (_, r) => layerMask(m, 2, 2, 4, rows, bp)[r * 4]);
  assert.deepEqual(firsts(4, 2), [0.25, 0.75, 0.25, 0.75]);
  assert.deepEqual(firsts(8, 4), [0.25, 0.75, 0.5, 0.5, 0.25, 0.75, 0.5, 0.5]);
  assert.deepEqual(firsts(2, 1, { shape: [1, 2, 2], data: new Float32Array(4).fill(0.5) }), [0.5, 0.5]);
  assert.deepEqual([...layerMask({ shape: [1, 14, 3], data: new Float32Array(42).fill(1) }, 14, 3, 14, 1, 1)], [0, 0, ...Array(9).fill(1), 0, 0, 0]);
  const a = {}, b = {};
  assert.equal(batchPrompt([a, a, b, b]), 2);
  assert.equal(batchPrompt([a, b]), 1);
  assert.equal(batchPrompt([a, a, a]), 3);
});

test('one attention site: masked rows are the adapter rows where the mask is 1 and the plain rows where it is 0', async () => {
  const f = SafetensorsFile.open(CKPT);
  const sites = crossAttnSites(parseUNetConfig(f, { prefix: 'model.diffusion_model.', ...headsFromMetadata(f.metadata) }));
  f.close();
  const k = sites.findIndex((s) => s.down === 2);
  const site = sites[k]!;
  const g = new GraphBuilder({ name: 'ip-site' });
  const q = g.input('q', 'float32', ['b', 's', site.inner]);
  const out = g.input('out', 'float32', ['b', 's', site.inner]);
  const hook = ipAdapterHook(plain, 'ip', 'V only', { masked: true });
  hook.begin({ g, sites, declare: (name, dims) => g.input(name, 'float32', dims) });
  g.output(hook.apply({ g, q, out, site, siteIndex: k }), 'y');
  const { bytes, weightsDir } = g.build();
  const s = await createSession(bytes, weightsDir, { threads: 1 });
  opened.add(s);
  const [H, W, N] = [8, 8, 2];
  const S = downsampledSize(H, 2) * downsampledSize(W, 2);
  const qv = rand([N, S, site.inner], 11), ov = rand([N, S, site.inner], 12);
  const run = async (mask: Tensor) => {
    const feeds: Record<string, { data: Float32Array; dims: readonly number[] }> = {
      q: { data: qv.data, dims: qv.shape }, out: { data: ov.data, dims: ov.shape },
      ip_tokens: { data: rand([N, 4, 32], 13).data, dims: [N, 4, 32] }, ip_weight: { data: new Float32Array(sites.length).fill(0.9), dims: [sites.length] },
    };
    for (const [name, t] of Object.entries(maskFeeds(mask, sites, [N, 4, H, W], N, (d) => `ip_mask_d${d}`))) feeds[name] = { data: t.data, dims: t.shape };
    return (await runFloat(s, feeds)).y!.data;
  };
  const left: Tensor = { shape: [1, H, W], data: Float32Array.from({ length: H * W }, (_, i) => (i % W < W / 2 ? 1 : 0)) };
  const full = await run({ shape: [1, H, W], data: new Float32Array(H * W).fill(1) });
  const half = await run(left);
  const m = layerMask(left, H, W, S, N, N);
  assert.ok(m.every((v) => v === 0 || v === 1) && m.includes(0) && m.includes(1));
  const C = site.inner;
  for (let t = 0; t < N * S; t++) {
    const row = (a: Float32Array) => a.subarray(t * C, (t + 1) * C);
    assert.deepEqual(row(half), m[t] === 1 ? row(full) : row(ov.data), `token ${t}`);
  }
  assert.ok(maxDiff(full, ov.data) > 1e-3, 'the adapter acts where the mask is 1');
});

let base: UNetSession, ip: IpUNetSession, ipm: IpUNetSession;
async function sessions(): Promise<void> {
  base ??= await loadUNet(CKPT, { session: { threads: 1 } });
  ip ??= await openIpUNet(CKPT, plain, 'V only', 1);
  ipm ??= await openIpUNet(CKPT, plain, 'V only', 1, { masked: true });
  opened.add(base).add(ip).add(ipm);
}

test('whole UNet: ones = no mask, zeros = no adapter, a half mask differs from both; odd and padded sizes run', async () => {
  await sessions();
  const tokens = rand([2, 4, 32], 21);
  const weights = ip.weightsFor(1);
  for (const [H, W] of [[8, 8], [9, 8], [22, 5]] as const) {
    const x = rand([2, 4, H, W], 22), context = rand([2, 7, 32], 23);
    const timesteps = Float32Array.of(500, 500);
    const masked = (mask: Tensor) => ipm.run({ x, timesteps, context, tokens, weights, extra: maskFeeds(mask, ipm.sites, x.shape, 1, ipm.names.mask) });
    const fill = (v: number): Tensor => ({ shape: [1, 16, 16], data: new Float32Array(256).fill(v) });
    const plainOut = (await base.run({ x, timesteps, context })).data;
    const noMask = (await ip.run({ x, timesteps, context, tokens, weights })).data;
    const zeros = (await masked(fill(0))).data;
    const ones = (await masked(fill(1))).data;
    assert.ok(maxDiff(zeros, plainOut) < 1e-6, `${H}×${W}: a zero mask is the UNet without the adapter`);
    if (H === 22) {
      // Padded levels (22×5 at /2 and /4): the reference zero-pads the mask, so even all ones masks some tokens.
      assert.ok(maxDiff(ones, noMask) > 1e-4, 'the padding masks tokens');
      continue;
    }
    assert.ok(maxDiff(ones, noMask) < 1e-6, `${H}×${W}: an all-ones mask is no mask`);
    const left: Tensor = { shape: [1, 16, 16], data: Float32Array.from({ length: 256 }, (_, i) => (i % 16 < 8 ? 1 : 0)) };
    const half = (await masked(left)).data;
    assert.ok(maxDiff(half, ones) > 1e-4 && maxDiff(half, zeros) > 1e-4, `${H}×${W}: a half mask is neither`);
  }
});
