import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readCaseTensors } from '../../../engine/conformance/runner.ts';
import { IpAdapterModel, combineEmbeds, joinTokens, moduleNumbers, openIpUNet, projectImage, siteWeight, type IpUNetSession } from '../../../engine/models/ipadapter/index.ts';
import { loadUNet, type UNetSession } from '../../../engine/models/unet/load.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';

const CONF = '/work/shared/conformance';
const M = (p: string) => path.join(CONF, 'models', p);
const vectors = (name: string) => readCaseTensors(path.join(CONF, 'vectors', `${name}.safetensors`));
const t = (m: Map<string, { shape: number[]; data: unknown }>, k: string): Tensor => ({ shape: m.get(k)!.shape, data: m.get(k)!.data as Float32Array });
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

const plain = IpAdapterModel.open(M('ipadapter/tiny_ip_adapter_sd15.safetensors'));
const plus = IpAdapterModel.open(M('ipadapter/tiny_ip_adapter_plus_sd15.safetensors'));
const opened = new Set<{ release(): Promise<void> }>();
after(async () => { for (const s of opened) await s.release(); });

test('adapter files are classified from their keys and shapes', () => {
  assert.equal(plain.kind, 'plain'); assert.equal(plain.tokens, 4); assert.equal(plain.contextDim, 32);
  assert.equal(plus.kind, 'plus'); assert.equal(plus.tokens, 16);
  assert.deepEqual(plain.modules, Array.from({ length: 16 }, (_, i) => 2 * i + 1));
  assert.equal(plain.isSdxl, false);
});

test('plain and plus projections reproduce the reference tokens from the recorded CLIP vision features', async () => {
  const a = vectors('ipadapter_image_tokens');
  const cond = await projectImage(plain, t(a, 'input.image_embeds'));
  assert.deepEqual(cond.shape, [1, 4, 32]);
  assert.ok(maxDiff(cond.data, t(a, 'expected.cond_tokens').data) < 1e-5);
  const zeros = await projectImage(plain, { shape: [1, 32], data: new Float32Array(32) });
  assert.ok(maxDiff(zeros.data, t(a, 'expected.uncond_tokens').data) < 1e-5, 'uncond = projection of zero embeds');
  const b = vectors('ipadapter_plus_image_tokens');
  const pc = await projectImage(plus, t(b, 'input.penultimate_hidden_states'));
  const pu = await projectImage(plus, t(b, 'input.uncond_penultimate_hidden_states'));
  assert.deepEqual(pc.shape, [1, 16, 32]);
  assert.ok(maxDiff(pc.data, t(b, 'expected.cond_tokens').data) < 1e-4);
  assert.ok(maxDiff(pu.data, t(b, 'expected.uncond_tokens').data) < 1e-4);
  await assert.rejects(projectImage(plus, { shape: [1, 32], data: new Float32Array(32) }), /penultimate hidden states/);
});

test('module numbering: input blocks, then output blocks, then middle, while the UNet runs input → middle → output', async () => {
  const u = await openIpUNet(M('tiny_sd15.safetensors'), plain, 'V only', 1);
  opened.add(u);
  const mods = moduleNumbers(plain, u.sites);
  const mid = u.sites.findIndex((s) => s.block === 'middle');
  assert.equal(mid, 6, 'six input-block layers run before the middle one');
  assert.equal(mods[mid], 31, 'the middle layer is the last module');
  assert.equal(mods[mid + 1], 13, 'the first output layer follows the input ones');
  assert.deepEqual(u.sites.map((s) => s.transformerIndex), Array.from({ length: 16 }, (_, i) => i));
});

let base: UNetSession, ip: IpUNetSession;
async function sessions(): Promise<void> {
  base ??= await loadUNet(M('tiny_sd15.safetensors'), { session: { threads: 1 } });
  ip ??= await openIpUNet(M('tiny_sd15.safetensors'), plain, 'V only', 1);
  opened.add(base).add(ip);
}

test('weight 0 gives the UNet output without the adapter bit for bit; weight 0.8 matches the reference and differs', async () => {
  await sessions();
  const v = vectors('ipadapter_unet_eps_w0.8');
  const x = t(v, 'input.x');
  const xin = { shape: x.shape, data: x.data.map((a) => a / Math.sqrt(25 + 1)) };
  const timesteps = t(v, 'input.timesteps').data;
  const context = t(v, 'input.context');
  const cond = t(v, 'input.ip_cond_tokens'), uncond = t(v, 'input.ip_uncond_tokens');
  const tokens = { shape: [2, 4, 32], data: Float32Array.of(...cond.data, ...uncond.data) };
  const plainOut = await base.run({ x: xin, timesteps, context });
  const zero = await ip.run({ x: xin, timesteps, context, tokens, weights: ip.weightsFor(0) });
  assert.deepEqual(zero.data, plainOut.data, 'bit-identical at weight 0');
  assert.ok(maxDiff(plainOut.data, t(v, 'aux.eps_without_ipadapter').data) < 1e-4);
  const w = await ip.run({ x: xin, timesteps, context, tokens, weights: ip.weightsFor(0.8) });
  assert.ok(maxDiff(w.data, plainOut.data) > 1e-2, 'the adapter changes eps');
  assert.ok(maxDiff(w.data, t(v, 'expected.eps').data) < 2e-4);
});

test('weight types: per-layer weights follow the reference tables', async () => {
  await sessions();
  const sites = ip.sites;
  const style = sites.map((s) => siteWeight('style transfer', 1, s, 16));
  assert.deepEqual(style, [1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
  const comp = sites.map((s) => siteWeight('composition', 2, s, 16));
  assert.deepEqual(comp.filter((w) => w !== 0), [0.5, 2]);
  const easeIn = sites.map((s) => siteWeight('ease in', 1, s, 16));
  assert.ok(easeIn[0] === 1 && easeIn[15]! < easeIn[1]!);
  const weakMid = sites.map((s) => siteWeight('weak middle', 1, s, 16));
  assert.equal(weakMid[6], 0.2); assert.equal(weakMid[5], 1);
  // The precise types' tables (their token swaps: ipadapter-precise.test.ts).
  assert.deepEqual(sites.map((s) => siteWeight('composition precise', 1, s, 16)).map((w) => Math.round(w * 100) / 100), [1, 1, 1, 1, 0.25, 1, 0.1, 0.1, 0.1, 1, 1, 1, 1, 1, 1, 1]);
  // 'style transfer' leaves layers 4..8 exactly as without the adapter: a weighted run differs from linear.
  const v = vectors('ipadapter_unet_eps_w0.8');
  const x = t(v, 'input.x');
  const r = (weights: Float32Array) => ip.run({ x, timesteps: t(v, 'input.timesteps').data, context: t(v, 'input.context'), tokens: { shape: [2, 4, 32], data: new Float32Array(256).fill(0.5) }, weights });
  assert.ok(maxDiff((await r(ip.weightsFor(1, 'style transfer'))).data, (await r(ip.weightsFor(1))).data) > 1e-4);
});

test('combine_embeds over an image batch; concat joins the images into one row of tokens', () => {
  const e = { shape: [2, 3], data: Float32Array.of(1, 2, 3, 3, 4, 5) };
  assert.deepEqual([...combineEmbeds(e, 'add').data], [4, 6, 8]);
  assert.deepEqual([...combineEmbeds(e, 'average').data], [2, 3, 4]);
  assert.deepEqual([...combineEmbeds(e, 'subtract').data], [-2, -2, -2]);
  const n = combineEmbeds(e, 'norm average').data;
  assert.ok(Math.abs(n[0]! - (1 / Math.hypot(1, 3) + 3 / Math.hypot(1, 3)) / 2) < 1e-6);
  assert.deepEqual(joinTokens({ shape: [2, 4, 8], data: new Float32Array(64) }).shape, [1, 8, 8]);
});
