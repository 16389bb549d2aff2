/**
 * diffusers folders read in place: the same tiny LDM checkpoint written as a single file and as a diffusers
 * folder (renamed tensors, same bytes) must give bit-identical UNet, VAE and CLIP outputs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { createSession, runFloat } from '../../../engine/onnx/index.ts';
import { sdCheckpointTensors } from '../../../engine/models/fixtures/sd.ts';
import { buildUNet } from '../../../engine/models/unet/graph.ts';
import { buildVaeDecoder, buildVaeEncoder, vaeSpec } from '../../../engine/models/vae/graph.ts';
import { asBuilderFile } from '../../../engine/models/lora/bridge.ts';
import { diffusersNames } from '../../../engine/models/lora/diffusers.ts';
import { ClipModel, releaseClipEncoders } from '../../../engine/models/clip/model.ts';
import { loadCheckpoint } from '../../../engine/models/sd/checkpoint.ts';
import { diffusersUNetSource, diffusersVaeSource, loadDiffusersFolder, ldmVaeKey, type DiffusersUNetSource } from '../../../engine/models/diffusers/index.ts';
import { writeDiffusersFolder } from '../../../engine/models/diffusers/fixture.ts';
import type { GraphBuilder } from '../../../engine/onnx/index.ts';

const VAE = { vaeCh: 32, vaeChMult: [1, 1, 1, 1] };
let dir: string;
const ldm: Record<string, string> = {};
const folder: Record<string, string> = {};

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-diffusers-'));
  // SD1 in fp16 with the *.fp16.safetensors names; SDXL in fp32 with the legacy VAE attention names.
  const sd1 = sdCheckpointTensors({ family: 'sd1', dtype: 'F16', seed: 5, ...VAE });
  ldm.sd1 = path.join(dir, 'sd1.safetensors');
  writeSafetensors(ldm.sd1, sd1.tensors, sd1.metadata);
  folder.sd1 = path.join(dir, 'sd1-diffusers');
  writeDiffusersFolder(folder.sd1, sd1.tensors, {
    family: 'sd1', fp16Names: true, unetConfig: { attention_head_dim: 8, block_out_channels: [32, 64] },
    textConfig: { hidden_act: 'quick_gelu', num_attention_heads: 2 },
  });
  const xl = sdCheckpointTensors({ family: 'sdxl', seed: 6, ...VAE });
  ldm.sdxl = path.join(dir, 'xl.safetensors');
  writeSafetensors(ldm.sdxl, xl.tensors, xl.metadata);
  folder.sdxl = path.join(dir, 'xl-diffusers');
  writeDiffusersFolder(folder.sdxl, xl.tensors, {
    family: 'sdxl', legacyVaeAttention: true, unetConfig: { attention_head_dim: [2, 4, 4], block_out_channels: [32, 64, 64] },
    textConfig: { hidden_act: 'quick_gelu', num_attention_heads: 2 }, textConfig2: { hidden_act: 'gelu', num_attention_heads: 3 },
  });
});

after(async () => {
  await releaseClipEncoders();
  fs.rmSync(dir, { recursive: true, force: true });
});

function rand(shape: number[], seed: number): { data: Float32Array; dims: number[] } {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let s = seed;
  for (let i = 0; i < data.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; data[i] = (s / 4294967296) * 2 - 1; }
  return { data, dims: shape };
}

async function run(g: { bytes: Uint8Array; weightsDir: string }, feeds: Record<string, { data: Float32Array; dims: number[] }>) {
  const s = await createSession(g.bytes, g.weightsDir, { threads: 1 });
  try { return await runFloat(s, feeds); } finally { await s.release(); }
}

function assertSame(a: Record<string, { data: Float32Array }>, b: Record<string, { data: Float32Array }>, what: string): void {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  for (const k of Object.keys(a)) {
    assert.equal(a[k]!.data.length, b[k]!.data.length, `${what} ${k}`);
    assert.ok(a[k]!.data.some((v) => v !== 0), `${what} ${k} is all zeros`);
    assert.ok(Buffer.from(a[k]!.data.buffer).equals(Buffer.from(b[k]!.data.buffer)), `${what}: output ${k} differs`);
  }
}

function unetFile(f: string): string {
  return fs.readdirSync(path.join(f, 'unet')).filter((n) => n.endsWith('.safetensors')).map((n) => path.join(f, 'unet', n))[0]!;
}

test('known diffusers names: the rename agrees with the published LDM ↔ diffusers convention', () => {
  const src = diffusersUNetSource(unetFile(folder.sdxl!));
  const vae = diffusersVaeSource(path.join(folder.sdxl!, 'vae', 'diffusion_pytorch_model.safetensors'));
  try {
    const p = 'model.diffusion_model.';
    // SDXL: level 0 has no transformers, so input_blocks.4 is level 1's first res block + attention.
    assert.equal(src.fileKey(`${p}input_blocks.4.1.proj_in.weight`), 'down_blocks.1.attentions.0.proj_in.weight');
    assert.equal(src.fileKey(`${p}input_blocks.3.0.op.weight`), 'down_blocks.0.downsamplers.0.conv.weight');
    assert.equal(src.fileKey(`${p}input_blocks.4.0.skip_connection.weight`), 'down_blocks.1.resnets.0.conv_shortcut.weight');
    assert.equal(src.fileKey(`${p}middle_block.2.out_layers.3.bias`), 'mid_block.resnets.1.conv2.bias');
    assert.equal(src.fileKey(`${p}output_blocks.2.2.conv.weight`), 'up_blocks.0.upsamplers.0.conv.weight');
    assert.equal(src.fileKey(`${p}output_blocks.0.1.transformer_blocks.1.attn2.to_k.weight`), 'up_blocks.0.attentions.0.transformer_blocks.1.attn2.to_k.weight');
    assert.equal(src.fileKey(`${p}label_emb.0.2.weight`), 'add_embedding.linear_2.weight');
    assert.equal(src.fileKey(`${p}out.0.bias`), 'conv_norm_out.bias');
    assert.equal(src.unmapped.length, 0);
    // Decoder levels run the other way; legacy attention names; Linear weights shown as 1×1 convs.
    assert.equal(vae.fileKey('decoder.up.0.block.1.conv2.bias'), 'decoder.up_blocks.3.resnets.1.conv2.bias');
    assert.equal(ldmVaeKey('decoder.up_blocks.3.resnets.0.conv_shortcut.weight', 4), 'decoder.up.0.block.0.nin_shortcut.weight');
    assert.equal(vae.fileKey('decoder.up.3.upsample.conv.weight'), 'decoder.up_blocks.0.upsamplers.0.conv.weight');
    assert.equal(vae.fileKey('encoder.mid.attn_1.proj_out.weight'), 'encoder.mid_block.attentions.0.proj_attn.weight');
    assert.equal(vae.fileKey('decoder.mid.attn_1.norm.bias'), 'decoder.mid_block.attentions.0.group_norm.bias');
    assert.equal(vae.fileKey('decoder.norm_out.weight'), 'decoder.conv_norm_out.weight');
    assert.deepEqual(vae.get('encoder.mid.attn_1.q.weight').shape, [32, 32, 1, 1]);
    assert.deepEqual(vae.locate('encoder.mid.attn_1.q.weight').tensor.offset, vae.file.get('encoder.mid_block.attentions.0.query.weight').offset);
    assert.equal(ldmVaeKey('decoder.mid_block.attentions.0.to_out.0.bias', 4), 'decoder.mid.attn_1.proj_out.bias');
  } finally {
    src.close();
    vae.close();
  }
  // The LoRA key map now comes from the same layout: kohya diffusers names of an SD1 UNet.
  const sd1 = SafetensorsFile.open(ldm.sd1!);
  try {
    const names = diffusersNames(sd1.keys().filter((k) => k.startsWith('model.diffusion_model.')).map((k) => k.slice(22)));
    assert.equal(names.get('input_blocks.1.1.proj_in'), 'down_blocks.0.attentions.0.proj_in');
    assert.equal(names.get('output_blocks.3.1.transformer_blocks.0.attn1.to_q'), 'up_blocks.1.attentions.1.transformer_blocks.0.attn1.to_q');
    assert.equal(names.get('output_blocks.1.2.conv'), 'up_blocks.0.upsamplers.0.conv');
  } finally {
    sd1.close();
  }
});

for (const family of ['sd1', 'sdxl'] as const) {
  test(`${family}: the UNet built over the diffusers file equals the single file's, bit for bit`, async () => {
    const ref = loadCheckpoint(ldm[family]!, { cacheDir: dir, withClip: false, withVae: false }).model;
    const d = loadDiffusersFolder(folder[family]!, { cacheDir: dir, withClip: false, withVae: false });
    assert.equal(d.model.family, family);
    assert.deepEqual(d.model.source.heads, ref.source.heads);
    assert.deepEqual({ ...d.detected.unet, prefix: '' }, { ...ref.detected.unet, prefix: '' });
    assert.equal(d.detected.prediction, 'eps');
    const f = SafetensorsFile.open(ldm[family]!);
    const src = (d.model.source as DiffusersUNetSource).open();
    try {
      const opts = { prefix: ref.source.prefix, ...ref.source.heads };
      const a = buildUNet(f, opts);
      const b = buildUNet(asBuilderFile(src), opts);
      assert.ok(b.weightsDir.endsWith('unet'));
      const feeds: Record<string, { data: Float32Array; dims: number[] }> = {
        x: rand([2, 4, 8, 8], 1), timesteps: { data: Float32Array.of(10, 700), dims: [2] }, context: rand([2, 77, a.config.contextDim], 2),
      };
      if (a.config.admInChannels > 0) feeds.y = rand([2, a.config.admInChannels], 3);
      assertSame(await run(a, feeds), await run(b, feeds), `${family} UNet`);
    } finally {
      f.close();
      src.close();
    }
  });

  test(`${family}: the VAE decoder and encoder over the diffusers file equal the single file's`, async () => {
    const f = SafetensorsFile.open(ldm[family]!);
    const vaeFile = fs.readdirSync(path.join(folder[family]!, 'vae')).find((n) => n.endsWith('.safetensors'))!;
    const src = diffusersVaeSource(path.join(folder[family]!, 'vae', vaeFile));
    try {
      const sa = vaeSpec(f, 'first_stage_model');
      const sb = vaeSpec(src, '');
      assert.deepEqual({ ...sb, prefix: 'first_stage_model' }, sa);
      const build = (g: GraphBuilder) => g.build();
      const latent = { latent: rand([1, 4, 4, 4], 4) };
      assertSame(await run(build(buildVaeDecoder(f, sa)), latent), await run(build(buildVaeDecoder(src, sb)), latent), `${family} VAE decoder`);
      const image = { image: { data: rand([1, 32, 32, 3], 5).data.map((v) => (v + 1) / 2), dims: [1, 32, 32, 3] } };
      assertSame(await run(build(buildVaeEncoder(f, sa)), image), await run(build(buildVaeEncoder(src, sb)), image), `${family} VAE encoder`);
    } finally {
      f.close();
      src.close();
    }
  });

  test(`${family}: CLIP from text_encoder(_2) encodes as the checkpoint's CLIP does`, async () => {
    const ref = ClipModel.fromCheckpoint(ldm[family]!);
    const d = loadDiffusersFolder(folder[family]!, { cacheDir: dir, withVae: false });
    assert.ok(d.clip);
    assert.equal(d.clip.family, ref.family);
    assert.deepEqual(d.clip.roles(), ref.roles());
    for (const r of ref.roles()) assert.deepEqual(d.clip.encoders[r]!.preset, ref.encoders[r]!.preset);
    const [[ca, oa]] = await ref.encode('a red (lighthouse:1.2) at dusk');
    const [[cb, ob]] = await d.clip.encode('a red (lighthouse:1.2) at dusk');
    assert.deepEqual(cb.shape, ca.shape);
    assert.ok(Buffer.from(cb.data.buffer).equals(Buffer.from(ca.data.buffer)), 'cond differs');
    const pa = (oa as { pooled_output: { data: Float32Array } }).pooled_output.data;
    const pb = (ob as { pooled_output: { data: Float32Array } }).pooled_output.data;
    assert.ok(Buffer.from(pb.buffer).equals(Buffer.from(pa.buffer)), 'pooled output differs');
  });
}

test('prediction type comes from scheduler_config.json', () => {
  const f = folder.sd1!;
  const cfg = path.join(f, 'scheduler', 'scheduler_config.json');
  const before = fs.readFileSync(cfg);
  try {
    fs.writeFileSync(cfg, JSON.stringify({ prediction_type: 'v_prediction' }));
    const d = loadDiffusersFolder(f, { cacheDir: dir, withClip: false, withVae: false });
    assert.equal(d.detected.prediction, 'v');
    assert.equal(d.model.modelSampling.prediction, 'v_prediction');
    fs.writeFileSync(cfg, JSON.stringify({ prediction_type: 'sample' }));
    assert.throws(() => loadDiffusersFolder(f, { cacheDir: dir, withClip: false, withVae: false }), /prediction_type "sample" is not supported/);
  } finally {
    fs.writeFileSync(cfg, before);
  }
});

test('a folder missing a component names the file it needs', () => {
  const f = path.join(dir, 'broken');
  fs.cpSync(folder.sdxl!, f, { recursive: true });
  fs.rmSync(path.join(f, 'text_encoder_2', 'model.safetensors'));
  assert.throws(() => loadDiffusersFolder(f, { cacheDir: dir, withVae: false }), (e: Error) => e.message.includes(path.join(f, 'text_encoder_2', 'model.safetensors')));
  fs.rmSync(path.join(f, 'unet', 'diffusion_pytorch_model.safetensors'));
  assert.throws(() => loadDiffusersFolder(f, { cacheDir: dir }), (e: Error) => e.message.includes(path.join(f, 'unet', 'diffusion_pytorch_model.safetensors')));
  fs.rmSync(path.join(f, 'model_index.json'));
  assert.throws(() => loadDiffusersFolder(f, { cacheDir: dir }), (e: Error) => e.message.includes(path.join(f, 'model_index.json')));
  // A UNet file that is not diffusers-named is refused by name, not mis-read.
  assert.throws(() => diffusersUNetSource(ldm.sd1!), /not a diffusers UNet/);
});
