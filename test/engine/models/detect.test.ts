import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { detectModel, type DetectedModel } from '../../../engine/models/detect.ts';
import { writeSdCheckpoint } from '../../../engine/models/fixtures/sd.ts';

const M = '../shared/conformance/models';
const have = existsSync(M);
const dir = mkdtempSync(join(tmpdir(), 'weft-det-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function detect(p: string): { d: DetectedModel; oracle: any } {
  const f = SafetensorsFile.open(p);
  try {
    const raw = f.metadata.oracle_config;
    return { d: detectModel(f), oracle: raw ? JSON.parse(raw) : {} };
  } finally {
    f.close();
  }
}

test('conformance checkpoints: every dimension read back matches the generator config', { skip: !have }, () => {
  for (const name of ['tiny_sd15', 'tiny_sd15_inpaint', 'tiny_sd2v', 'tiny_sdxl']) {
    const { d, oracle } = detect(`${M}/${name}.safetensors`);
    const u = d.unet!;
    const o = oracle.unet;
    assert.equal(d.kind, 'checkpoint', name);
    assert.equal(u.modelChannels, o.model_channels, name);
    assert.deepEqual(u.channelMult, o.channel_mult, name);
    assert.ok(u.numResBlocks.every((n) => n === o.num_res_blocks), name);
    assert.equal(u.inChannels, o.in_channels ?? 4, name);
    assert.equal(d.vae!.ch, oracle.vae.ch, name);
    assert.deepEqual(d.vae!.chMult, oracle.vae.ch_mult, name);
    assert.equal(d.vae!.numResBlocks, oracle.vae.num_res_blocks, name);
    if (o.num_heads > 0) assert.equal(u.numHeads, o.num_heads); else assert.equal(u.headChannels, o.num_head_channels);
  }
  const sd15 = detect(`${M}/tiny_sd15.safetensors`).d;
  assert.equal(sd15.family, 'sd1');
  assert.equal(sd15.prediction, 'eps');
  assert.deepEqual(sd15.unet!.transformerDepth, [1, 1, 1, 0]);
  assert.equal(sd15.textEncoders[0]!.layers, 2);
  assert.equal(sd15.textEncoders[0]!.heads, 2);
  assert.equal(detect(`${M}/tiny_sd15_inpaint.safetensors`).d.variant, 'inpaint');
  const sd2 = detect(`${M}/tiny_sd2v.safetensors`).d;
  assert.equal(sd2.family, 'sd2');
  assert.equal(sd2.prediction, 'v');
  assert.equal(sd2.unet!.useLinearInTransformer, true);
  assert.equal(sd2.textEncoders[0]!.layout, 'open_clip');
  assert.equal(sd2.textEncoders[0]!.layers, 3);
  const xl = detect(`${M}/tiny_sdxl.safetensors`).d;
  assert.equal(xl.family, 'sdxl');
  assert.deepEqual(xl.unet!.transformerDepth, [0, 1, 2]);
  assert.equal(xl.unet!.transformerDepthMiddle, 2);
  assert.equal(xl.unet!.admInChannels, 48 + 6 * 256);
  assert.deepEqual(xl.textEncoders.map((t) => [t.role, t.width, t.heads]), [['l', 32, 2], ['g', 48, 3]]);
  assert.equal(xl.vae!.scalingFactor, 0.13025);
});

test('conformance component files', { skip: !have }, () => {
  const flux = detect(`${M}/unet/tiny_flux.safetensors`);
  assert.equal(flux.d.family, 'flux');
  assert.equal(flux.d.variant, 'dev');
  assert.equal(flux.d.flux!.inChannels, flux.oracle.dit.in_channels);
  assert.equal(flux.d.flux!.numHeads, flux.oracle.dit.num_heads);
  assert.equal(flux.d.flux!.depthSingle, flux.oracle.dit.depth_single_blocks);
  assert.deepEqual(flux.d.flux!.axesDim, flux.oracle.dit.axes_dim);
  const t5 = detect(`${M}/clip/tiny_t5xxl.safetensors`).d.t5!;
  assert.deepEqual([t5.dModel, t5.dKv, t5.numHeads, t5.dFf, t5.numLayers], [32, 16, 2, 64, 2]);
  assert.equal(detect(`${M}/vae/tiny_flux_ae.safetensors`).d.vae!.latentChannels, 16);
  const lora = detect(`${M}/tiny_sd15_lora.safetensors`).d;
  assert.equal(lora.kind, 'lora');
  assert.equal(lora.lora!.rank, 4);
  assert.equal(lora.lora!.format, 'kohya');
  const cn = detect(`${M}/tiny_sd15_controlnet.safetensors`).d;
  assert.equal(cn.kind, 'controlnet');
  assert.equal(cn.controlnet!.hintChannels, 3);
  const up = detect(`${M}/tiny_esrgan_x4.safetensors`).d.upscaler!;
  assert.equal(up.scale, 4);
  assert.equal(detect(`${M}/clip_vision/tiny_clip_vision.safetensors`).d.kind, 'clip_vision');
  assert.equal(detect(`${M}/embeddings/tiny_emb.safetensors`).d.kind, 'embedding');
});

test('generated fixtures: SD2 eps vs v follows the ComfyUI std rule; unknown files are refused', () => {
  const v = join(dir, 'v.safetensors');
  const eps = join(dir, 'eps.safetensors');
  writeSdCheckpoint(v, { family: 'sd2', vocabSize: 1000 });
  writeSdCheckpoint(eps, { family: 'sd2', vPrediction: false, vocabSize: 1000 });
  assert.equal(detect(v).d.prediction, 'v');
  assert.equal(detect(eps).d.prediction, 'eps');
  const inp = join(dir, 'inp.safetensors');
  writeSdCheckpoint(inp, { family: 'sd1', inpaint: true, vocabSize: 1000, dtype: 'F16' });
  const d = detect(inp).d;
  assert.equal(d.variant, 'inpaint');
  assert.equal(d.unet!.inChannels, 9);
  assert.equal(d.dtype, 'F16');
  const odd = join(dir, 'my_lora_thing.safetensors');
  writeSafetensors(odd, { 'foo.bar': { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
  assert.throws(() => detect(odd), /Could not detect model type of: .*my_lora_thing.*LoRA/);
});
