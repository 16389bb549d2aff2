import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { sdCheckpointTensors } from '../../../engine/models/fixtures/sd.ts';
import { vaeSpec } from '../../../engine/models/vae/graph.ts';
import { Vae, cropForEncode, samplePosterior } from '../../../engine/models/vae/vae.ts';
import { maxDiff, rand, tmpDir } from '../onnx/ref.ts';

const dir = tmpDir('vae');
const closers: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of closers) await c();
  fs.rmSync(dir, { recursive: true, force: true });
});

const { tensors } = sdCheckpointTensors({ family: 'sd1', seed: 11, dtype: 'F32', vaeCh: 32 });
const ckptPath = path.join(dir, 'ckpt.safetensors');
writeSafetensors(ckptPath, tensors);
// A standalone VAE file: the same tensors without the checkpoint prefix.
const standalone: Record<string, TensorToWrite> = {};
for (const [k, v] of Object.entries(tensors)) if (k.startsWith('first_stage_model.')) standalone[k.slice('first_stage_model.'.length)] = v;
const vaePath = path.join(dir, 'vae.safetensors');
writeSafetensors(vaePath, standalone);
const ckpt = SafetensorsFile.open(ckptPath), single = SafetensorsFile.open(vaePath);
const vae = Vae.open(ckpt, undefined, { threads: 1 }), vae2 = Vae.open(single, undefined, { threads: 1 });
closers.push(() => vae.release(), () => vae2.release(), () => ckpt.close(), () => single.close());

test('spec is read from shapes, for a checkpoint and for a standalone VAE file', async () => {
  const s = vaeSpec(ckpt);
  assert.equal(s.prefix, 'first_stage_model');
  assert.equal(s.latentChannels, 4);
  assert.ok(s.levels >= 2 && s.resBlocks >= 1 && s.hasQuantConv);
  assert.deepEqual({ ...vaeSpec(single), prefix: 'first_stage_model' }, s);
  assert.throws(() => vaeSpec(ckpt, 'model.diffusion_model'), /no VAE decoder/);
  // ComfyUI's VAE always uses 32 groups: a 16-channel VAE is rejected with the tensor named.
  const narrow = path.join(dir, 'narrow.safetensors');
  writeSafetensors(narrow, sdCheckpointTensors({ family: 'sd1', seed: 1, dtype: 'F32', vaeCh: 16 }).tensors);
  const nf = SafetensorsFile.open(narrow);
  await assert.rejects(Vae.open(nf).decode({ shape: [1, 4, 2, 2], data: new Float32Array(16) }), /not divisible into 32 groups/);
  nf.close();
});

test('decode: 2^(levels-1)× upscale, image = clamp((x+1)/2) in NHWC, non-square, same for the standalone file', async () => {
  const levels = vaeSpec(ckpt).levels;
  const f = 2 ** (levels - 1);
  const latent = { shape: [1, 4, 3, 5], data: rand(60, 3) };
  const r = await vae.decode(latent);
  assert.deepEqual(r.decoded.shape, [1, 3, 3 * f, 5 * f]);
  assert.deepEqual(r.image.shape, [1, 3 * f, 5 * f, 3]);
  const [H, W] = [3 * f, 5 * f];
  let worst = 0;
  for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const raw = r.decoded.data[(c * H + y) * W + x]!;
    worst = Math.max(worst, Math.abs(r.image.data[(y * W + x) * 3 + c]! - Math.min(1, Math.max(0, (raw + 1) / 2))));
  }
  assert.ok(worst < 1e-7);
  const r2 = await vae2.decode(latent);
  assert.equal(maxDiff(r.decoded.data, r2.decoded.data), 0);
  await assert.rejects(vae.decode({ shape: [1, 3, 3, 5], data: new Float32Array(45) }), /does not fit this VAE/);
});

test('encode: alpha dropped and H, W centre-cropped to multiples of 8 (VAEEncode); logvar clamped', async () => {
  const f = 2 ** (vaeSpec(ckpt).levels - 1);
  const H = 16 + 5, W = 16 + 3;
  const rgba = { shape: [1, H, W, 4], data: rand(H * W * 4, 5).map((v) => (v + 1) / 2) };
  const cropped = cropForEncode(rgba);
  assert.deepEqual(cropped.shape, [1, 16, 16, 3]);
  assert.equal(cropped.data[0], rgba.data[(2 * W + 1) * 4], 'offset (H%8)/2 = 2 rows, (W%8)/2 = 1 column');
  const a = await vae.encode(rgba), b = await vae.encode(cropped);
  assert.deepEqual(a.mean.shape, [1, 4, 16 / f, 16 / f]);
  assert.equal(maxDiff(a.mean.data, b.mean.data), 0);
  assert.ok(a.logvar.data.every((v) => v >= -30 && v <= 20));
  const s = samplePosterior(a.mean, a.logvar, new Float32Array(a.mean.data.length).fill(1));
  assert.ok(Math.abs(s.data[0]! - (a.mean.data[0]! + Math.exp(0.5 * a.logvar.data[0]!))) < 1e-5);
});

const CONF = path.resolve(import.meta.dirname, '../../../../shared/conformance');
test('conformance vectors: SD1 decode (incl. mid-block attention) and encode', { skip: !fs.existsSync(CONF) && 'no ../shared/conformance' }, async () => {
  const f = SafetensorsFile.open(path.join(CONF, 'models/tiny_sd15.safetensors'));
  const v = Vae.open(f, undefined, { threads: 1 });
  closers.push(() => v.release(), () => f.close());
  const dec = SafetensorsFile.open(path.join(CONF, 'vectors/vae_decode_nonsquare.safetensors'));
  const r = await v.decode({ shape: dec.get('input.latent').shape, data: dec.readFloat32('input.latent') });
  assert.ok(maxDiff(r.decoded.data, dec.readFloat32('expected.decoded_raw')) < 1e-5 + 1e-4 * 3.2);
  assert.ok(maxDiff(r.image.data, dec.readFloat32('expected.image_nhwc')) < 1.1e-4);
  const enc = SafetensorsFile.open(path.join(CONF, 'vectors/vae_encode.safetensors'));
  const e = await v.encode({ shape: enc.get('input.image_nhwc').shape, data: enc.readFloat32('input.image_nhwc') });
  const mean = enc.readFloat32('expected.mean');
  assert.ok(maxDiff(e.mean.data, mean) < 1e-5 + 1e-4 * Math.max(...mean.map(Math.abs)));
  dec.close(); enc.close();
});
