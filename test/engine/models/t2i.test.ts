import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { writeSdCheckpoint } from '../../../engine/models/fixtures/index.ts';
import { loadControlNetModel } from '../../../engine/models/controlnet/apply.ts';
import { applyControlNet, controlOf } from '../../../engine/models/controlnet/socket.ts';
import { loadCheckpoint } from '../../../engine/models/sd/checkpoint.ts';
import { modelFnFor } from '../../../engine/models/sd/bridge.ts';
import { runUNet, type UNetCallControl } from '../../../engine/models/sd/unet-runner.ts';
import type { SdModel, UNetCall } from '../../../engine/models/sd/model.ts';
import { t2iFeatures, t2iResiduals } from '../../../engine/models/t2i/load.ts';
import { writeTinyT2IAdapter } from '../../../engine/models/t2i/synthetic.ts';
import { parseUNetConfig } from '../../../engine/models/unet/config.ts';
import { ModelService } from '../../../engine/runtime/service.ts';
import type { CondEntry } from '../../../engine/sampling/cfg.ts';
import type { Conditioning } from '../../../engine/graph/sockets.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-t2i-'));
const service = new ModelService({ threads: 1, ep: 'cpu' });
after(async () => { await service.close(); rmSync(dir, { recursive: true, force: true }); });

// The real SD1 UNet layout in miniature: 4 levels of 2 resnets (12 input blocks), no attention in the last.
const ckpt = join(dir, 'sd1.safetensors');
writeSdCheckpoint(ckpt, { family: 'sd1', seed: 4, channelMult: [1, 2, 4, 4], numResBlocks: 2, transformerDepth: [1, 1, 1, 0] });
const full = join(dir, 't2iadapter_depth_sd15v2.safetensors');
writeTinyT2IAdapter(full, { channels: 32, seed: 7 });
const light = join(dir, 't2iadapter_color_light.safetensors');
writeTinyT2IAdapter(light, { variant: 'light', channels: 32, imageChannels: 1, lightResnets: 2, seed: 8 });

const f = SafetensorsFile.open(ckpt);
const cfg = parseUNetConfig(f, { prefix: 'model.diffusion_model.' });
f.close();
const model = (): SdModel => loadCheckpoint(ckpt, { cacheDir: dir }).model;

const C = cfg.contextDim;
const image: Tensor = { shape: [1, 48, 40, 3], data: Float32Array.from({ length: 48 * 40 * 3 }, (_, i) => ((i * 31) % 97) / 96) };
const text = (k: number): Tensor => ({ shape: [1, 77, C], data: Float32Array.from({ length: 77 * C }, (_, i) => Math.cos(i * k) * 0.5) });
const shape = [1, 4, 8, 8];
const x: Tensor = { shape: [2, 4, 8, 8], data: Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * 0.37) * 2) };
const lists = (): Conditioning[] => [[[text(1), {}]], [[text(2), {}]]] as unknown as Conditioning[];
const rows = (pos: Conditioning, neg: Conditioning): CondEntry[] =>
  [[pos, 0], [neg, 1]].map(([c, u]) => { const [t, extra] = (c as unknown as [Tensor, Record<string, unknown>][])[0]!; return { context: t, extra: { ...extra, cond_or_uncond: u } }; });
const denoise = async (m: SdModel, r: CondEntry[], sigma = 3): Promise<Float32Array> => (await modelFnFor(m, service, shape)(x, sigma, r)).data;

test('ControlNetLoader reads T2I-Adapters: full (SD1, 12-block mapping) and light (1-channel)', () => {
  const a = loadControlNetModel(full, { cacheDir: dir });
  assert.equal(a.t2i?.variant, 'full');
  assert.deepEqual(a.t2i?.targets, [2, 5, 8, 11]);
  assert.equal(a.t2i?.imageChannels, 3);
  assert.equal(a.t2i?.useConv, true);
  const l = loadControlNetModel(light, { cacheDir: dir });
  assert.deepEqual([l.t2i?.variant, l.t2i?.imageChannels, l.t2i?.perLevel], ['light', 1, 2]);
  assert.equal(cfg.inputBlocks.length, a.t2i?.inputBlocks);
});

test('features land on control_input 2/5/8/11 with the UNet skip shapes; strength 0 is no adapter; strength 1 changes the prediction', async () => {
  const net = loadControlNetModel(full, { cacheDir: dir });
  const m = model();
  const [pos, neg] = lists();
  const plain = await denoise(m, rows(pos!, neg!));
  const [p0, n0] = applyControlNet([pos!, neg!], net, image, { strength: 0, applyToUncond: false });
  assert.deepEqual(await denoise(m, rows(p0!, n0!)), plain, 'strength 0: bit-identical');

  const [p1, n1] = applyControlNet([pos!, neg!], net, image, { strength: 1, applyToUncond: false });
  const r1 = rows(p1!, n1!);
  const app = controlOf(r1[0]!.extra)!;
  const call: UNetCall = { x, timesteps: Float32Array.of(500, 500), sigmas: [3, 3], context: text(1), conds: r1, model: m };
  const feats = await t2iFeatures(app, call, 1, service);
  const slots = await t2iResiduals(app, call, 1, service);
  const N = cfg.inputBlocks.length;
  // Hand-written reference: ComfyUI's [None, None, x] per level, popped after input blocks 0..11.
  const reference: Record<number, number> = { 2: 0, 5: 1, 8: 2, 11: 3 };
  for (let b = 0; b < N; b++) {
    const t = slots[N + 1 + b];
    if (reference[b] === undefined) { assert.equal(t, undefined, `block ${b} gets nothing`); continue; }
    assert.equal(t, feats[reference[b]!], `block ${b} gets level ${reference[b]}`);
    const sk = cfg.skips[b]!;
    assert.deepEqual(t!.shape, [2, sk.ch, 8 / sk.down, 8 / sk.down]);
  }
  assert.ok(slots.slice(0, N + 1).every((t) => t === undefined), 'no ControlNet output/middle residuals');
  assert.ok(feats.every((t) => t.data.some((v) => v !== 0)));
  assert.equal(await t2iFeatures(app, call, 1, service), feats, 'computed once per hint size');

  const d1 = await denoise(m, r1);
  assert.ok(d1.some((v, i) => Math.abs(v - plain[i]!) > 1e-3), 'the adapter changes the prediction');
  const [ph, nh] = applyControlNet([pos!, neg!], net, image, { strength: 0.5, applyToUncond: false });
  const dh = await denoise(m, rows(ph!, nh!));
  assert.ok(dh.some((v, i) => Math.abs(v - d1[i]!) > 1e-4), 'strength scales the features');
  // Outside the percent range the adapter is skipped (sigma 3 is well before 90% of the schedule).
  const [pr, nr] = applyControlNet([pos!, neg!], net, image, { strength: 1, startPercent: 0.9, endPercent: 1, applyToUncond: false });
  assert.deepEqual(await denoise(m, rows(pr!, nr!)), plain);
});

test("the UNet's 'input' variant with all-zero residuals equals the plain UNet; a feature feeds the encoder path", async () => {
  const m = model();
  const base: UNetCall = { x, timesteps: Float32Array.of(400, 400), sigmas: [2, 2], context: { shape: [2, 77, C], data: Float32Array.of(...text(1).data, ...text(2).data) }, conds: [], model: m };
  const plain = (await runUNet(service, base)).data;
  const N = cfg.inputBlocks.length;
  const zero = (): Tensor => ({ shape: [1, 1, 1, 1], data: new Float32Array(1) });
  const zeros = Array.from({ length: 2 * N + 1 }, zero);
  const withInput = (control: Tensor[]): UNetCall & UNetCallControl => ({ ...base, control, controlLayout: 'input' });
  assert.deepEqual((await runUNet(service, withInput(zeros))).data, plain);
  // A residual on input block 0 must change the result more than the same residual on its skip alone.
  const sk = cfg.skips[0]!;
  const r: Tensor = { shape: [2, sk.ch, 8, 8], data: Float32Array.from({ length: 2 * sk.ch * 64 }, (_, i) => Math.sin(i) * 0.5) };
  const onSkip = [...zeros]; onSkip[0] = r;
  const onInput = [...zeros]; onInput[N + 1] = r;
  const a = (await runUNet(service, withInput(onSkip))).data;
  const b = (await runUNet(service, withInput(onInput))).data;
  assert.ok(b.some((v, i) => Math.abs(v - a[i]!) > 1e-4), 'control_input_0 also reaches blocks 1.. (ComfyUI adds it to h)');
});

test('light adapter (1-channel, average-pool downsampling) runs and changes the prediction', async () => {
  const net = loadControlNetModel(light, { cacheDir: dir });
  const m = model();
  const [pos, neg] = lists();
  const plain = await denoise(m, rows(pos!, neg!));
  const [p1, n1] = applyControlNet([pos!, neg!], net, image, { strength: 1, applyToUncond: false });
  const d = await denoise(m, rows(p1!, n1!));
  assert.ok(d.some((v, i) => Math.abs(v - plain[i]!) > 1e-3));
});
