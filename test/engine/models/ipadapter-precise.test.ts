/**
 * 'style transfer precise' and 'composition precise' (IPAdapter_plus ipadapter_execute's weight tables and
 * ipadapter_attention's uncond = cond, cond = cond · 0 on some layers): the per-site weights and token choice
 * against the reference's tables for SD1.x (16 layers) and SDXL (11), the tokens each site gets per batch row
 * through the MODEL patch, and whole-UNet runs on the conformance SD1.5 adapter.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IpAdapterModel, applyIpAdapter, openIpUNet, siteSwaps, siteWeights, type IpUNetSession, type WeightType } from '../../../engine/models/ipadapter/index.ts';
import { loadCheckpoint } from '../../../engine/models/sd/checkpoint.ts';
import type { UNetCall } from '../../../engine/models/sd/model.ts';
import type { UNetCallFeeds } from '../../../engine/models/sd/unet-runner.ts';
import type { CrossAttnSite } from '../../../engine/models/unet/blocks.ts';
import type { CondEntry } from '../../../engine/sampling/cfg.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { maxDiff, rand } from '../../support/tensors.ts';

const M = (p: string) => path.join('/work/shared/conformance/models', p);
const CKPT = M('tiny_sd15.safetensors');
const plain = IpAdapterModel.open(M('ipadapter/tiny_ip_adapter_sd15.safetensors'));
const tmp = mkdtempSync(path.join(tmpdir(), 'weft-ip-precise-'));
const opened = new Set<{ release(): Promise<void> }>();
after(async () => {
  for (const s of opened) await s.release();
  rmSync(tmp, { recursive: true, force: true });
});

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const entries = (idx: number[], v: number): [number, number][] => idx.map((i) => [i, v]);
/** transformer_index → weight and the swapped indices, as IPAdapterPlus.py / CrossAttentionPatch.py give them. */
function reference(type: WeightType, w: number, sdxl: boolean): { table: Map<number, number>; swapped: (t: number) => boolean } {
  if (type === 'style transfer precise') {
    return sdxl
      ? { table: new Map([[3, w], [6, w]]), swapped: (t) => t === 3 }
      : { table: new Map([...entries(range(0, 3), w), [4, w * 0.25], [5, w], ...entries(range(9, 15), w)]), swapped: (t) => t === 4 || t === 5 };
  }
  return sdxl
    ? { table: new Map([...entries([0, 1, 2], w * 0.1), [3, w], ...entries([4, 5], w * 0.1), [6, w], ...entries(range(7, 10), w * 0.1)]), swapped: (t) => t !== 3 }
    : { table: new Map([...entries(range(0, 3), w), [4, w * 0.25], [5, w], ...entries(range(6, 8), w * 0.1), ...entries(range(9, 15), w)]), swapped: (t) => t !== 4 && t !== 5 };
}

/** SDXL's attn2 layers: input 4, 5 (depth 2), 7, 8 (10), middle (10), output 0–2 (10), 3–5 (2). */
function sdxlSites(): CrossAttnSite[] {
  const sites: CrossAttnSite[] = [];
  const blocks: [CrossAttnSite['block'], number, number][] = [['input', 4, 2], ['input', 5, 2], ['input', 7, 10], ['input', 8, 10], ['middle', 0, 10],
    ['output', 0, 10], ['output', 1, 10], ['output', 2, 10], ['output', 3, 2], ['output', 4, 2], ['output', 5, 2]];
  blocks.forEach(([block, id, depth], t) => {
    for (let d = 0; d < depth; d++) sites.push({ block, id, transformerIndex: t, depthIndex: d, heads: 10, inner: 640, down: 2 });
  });
  return sites;
}

let ip: IpUNetSession, ipp: IpUNetSession;
async function sessions(): Promise<void> {
  ip ??= await openIpUNet(CKPT, plain, 'V only', 1);
  ipp ??= await openIpUNet(CKPT, plain, 'V only', 1, { precise: true });
  opened.add(ip).add(ipp);
}

test('per-site weights and token swaps follow the reference tables (SD1.x 16 layers, SDXL 11)', async () => {
  await sessions();
  const sd15 = ip.sites;
  assert.equal(sd15.length, 16);
  for (const [sites, sdxl] of [[sd15, false], [sdxlSites(), true]] as const) {
    for (const type of ['style transfer precise', 'composition precise'] as const) {
      const w = 0.7;
      const ref = reference(type, w, sdxl);
      const weights = siteWeights(sites, sites.map(() => 1280), w, type, 'V only');
      const swaps = siteSwaps(sites, type);
      sites.forEach((s, i) => {
        const t = s.transformerIndex;
        assert.equal(weights[i], Math.fround(ref.table.get(t) ?? 0), `${type} ${sdxl ? 'SDXL' : 'SD1'} t${t} weight`);
        if (ref.table.has(t)) assert.equal(swaps[i], ref.swapped(t) ? 1 : 0, `${type} ${sdxl ? 'SDXL' : 'SD1'} t${t} swap`);
      });
    }
    assert.ok(siteSwaps(sites, 'style transfer').every((v) => v === 0));
  }
});

test('through the MODEL patch: each site and row gets the tokens the reference gives it', async () => {
  const { model } = loadCheckpoint(CKPT, { cacheDir: tmp, withClip: false, withVae: false });
  const tokens = { cond: rand([1, 4, 32], 31), uncond: rand([1, 4, 32], 32) };
  const pos: CondEntry = { context: rand([1, 7, 32], 33), extra: { cond_or_uncond: 0 } };
  const neg: CondEntry = { context: rand([1, 7, 32], 34), extra: { cond_or_uncond: 1 } };
  const conds = [pos, pos, neg, neg];
  for (const type of ['style transfer precise', 'composition precise', 'style transfer'] as const) {
    const m = applyIpAdapter(model, plain, tokens, { weight: 1, weightType: type });
    assert.equal(m.sessionKey.includes('|precise'), type !== 'style transfer', 'only precise types add the swap inputs');
    let feeds: Record<string, Tensor> = {};
    const call = { x: rand([4, 4, 8, 8], 35), timesteps: new Float32Array(4).fill(500), sigmas: [1, 1, 1, 1], context: rand([4, 7, 32], 36), conds, model: m } as UNetCall;
    await m.wrappers.at(-1)!(call, async (c) => { feeds = (c as UNetCall & UNetCallFeeds).feeds!; return c.x; });
    const swaps = feeds.ipadapter0_swap?.data;
    const ref = type === 'style transfer' ? null : reference(type, 1, false);
    // The conformance UNet's 16 sites run in transformer_index order (one block per SpatialTransformer).
    for (let site = 0; site < 16; site++) {
      const swapped = !!swaps && swaps[site] === 1;
      assert.equal(swapped, ref?.swapped(site) ?? false, `${type} site ${site}`);
      conds.forEach((e, r) => {
        const row = (t: Tensor) => t.data.subarray(r * 128, (r + 1) * 128);
        const got = row(swapped ? feeds.ipadapter0_tokens_alt! : feeds.ipadapter0_tokens!);
        const uncond = e === neg;
        const want = swapped ? (uncond ? tokens.cond.data : new Float32Array(128)) : uncond ? tokens.uncond.data : tokens.cond.data;
        assert.deepEqual(got, want, `${type} site ${site} row ${r}`);
      });
    }
  }
});

test('whole UNet: precise types equal their reference decomposition, differ from style transfer / composition, and repeat exactly', async () => {
  await sessions();
  const x = rand([2, 4, 8, 8], 41), context = rand([2, 7, 32], 42), timesteps = Float32Array.of(400, 400);
  const cond = rand([1, 4, 32], 43).data;
  // Zero uncond tokens add exactly nothing, so every row of a precise run is a plain run with some sites off.
  const tokens = { shape: [2, 4, 32], data: Float32Array.of(...cond, ...new Float32Array(128)) };
  const alt = { shape: [2, 4, 32], data: Float32Array.of(...new Float32Array(128), ...cond) };
  const condBoth = { shape: [2, 4, 32], data: Float32Array.of(...cond, ...cond) };
  const rows = (a: Float32Array) => [a.subarray(0, a.length / 2), a.subarray(a.length / 2)];
  for (const type of ['style transfer precise', 'composition precise'] as const) {
    const weights = ip.weightsFor(0.8, type);
    const swaps = ipp.swapsFor(type);
    const run = () => ipp.run({ x, timesteps, context, tokens, weights, extra: { [ipp.names.alt]: alt, [ipp.names.swap]: { shape: [16], data: swaps } } });
    const got = (await run()).data;
    assert.deepEqual((await run()).data, got, `${type} is deterministic`);
    const only = (keep: (i: number) => boolean) => weights.map((w, i) => (keep(i) ? w : 0));
    const condRow = rows((await ip.run({ x, timesteps, context, tokens: condBoth, weights: only((i) => swaps[i] === 0) })).data)[0]!;
    const uncondRow = rows((await ip.run({ x, timesteps, context, tokens: condBoth, weights: only((i) => swaps[i] === 1) })).data)[1]!;
    assert.ok(maxDiff(rows(got)[0]!, condRow) < 1e-5, `${type}: cond row = cond tokens on the unswapped sites only`);
    assert.ok(maxDiff(rows(got)[1]!, uncondRow) < 1e-5, `${type}: uncond row = cond tokens on the swapped sites only`);
    // The non-precise neighbour: the cond rows agree (its layers, cond tokens; the extra layers see cond · 0);
    // the uncond rows differ, since the precise type feeds them the image on the other layers.
    const other = type === 'style transfer precise' ? 'style transfer' : 'composition';
    const near = rows((await ip.run({ x, timesteps, context, tokens, weights: ip.weightsFor(0.8, other) })).data);
    assert.ok(maxDiff(rows(got)[0]!, near[0]!) < 1e-6, `${type} = ${other} on the cond row`);
    assert.ok(maxDiff(rows(got)[1]!, near[1]!) > 1e-4, `${type} differs from ${other} on the uncond row`);
    // Without a swap the precise graph is the plain one: the Where passes the row tokens through.
    const noSwap = (await ipp.run({ x, timesteps, context, tokens, weights, extra: { [ipp.names.alt]: alt, [ipp.names.swap]: { shape: [16], data: new Float32Array(16) } } })).data;
    assert.deepEqual(noSwap, (await ip.run({ x, timesteps, context, tokens, weights })).data);
  }
});
