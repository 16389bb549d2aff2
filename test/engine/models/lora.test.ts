import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { GraphBuilder, runFloat, sessionFor } from '../../../engine/onnx/index.ts';
import type { WeightSource } from '../../../engine/onnx/weights.ts';
import { linear } from '../../../engine/models/layers/index.ts';
import { applyLoras, matchLora, readLora, keyMapFor, type LoraScope } from '../../../engine/models/lora/index.ts';
import { writeSdCheckpoint } from '../../../engine/models/fixtures/sd.ts';
import { CLIP_PREFIXES } from '../../../engine/models/clip/spec.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-lora-'));
const cache = join(dir, 'cache');
after(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (shape: number[], vals: number[]): TensorToWrite => ({ dtype: 'F32', shape, data: Float32Array.from(vals) });
const seq = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k) * 0.5);
const one = f32([1, 1], [1]);

/** Which checkpoint key (and rows) each LoRA module of `names` lands on. */
function targets(base: string, scope: LoraScope, names: string[]): Record<string, string> {
  const lp = join(dir, `names-${Math.random().toString(36).slice(2)}.safetensors`);
  const t: Record<string, TensorToWrite> = {};
  for (const n of names) t[n] = one;
  writeSafetensors(lp, t);
  const f = SafetensorsFile.open(base);
  const lora = readLora(lp);
  const m = matchLora(lora, keyMapFor(f, scope));
  lora.file.close(); f.close();
  const out: Record<string, string> = {};
  for (const c of m.contributions) out[c.module.name] = c.target.key + (c.target.rows ? `[${c.target.rows.join(':')}]` : '');
  for (const k of m.notLoaded) out[k] = 'NOT LOADED';
  return out;
}

test('key mapping: kohya LDM and diffusers names, diffusers/PEFT suffixes, SD1 text encoder, unmatched keys', () => {
  const ck = join(dir, 'sd1.safetensors');
  writeSdCheckpoint(ck, { family: 'sd1', seed: 1, numResBlocks: 2 });
  const U = 'model.diffusion_model.';
  const t = targets(ck, { kind: 'unet', prefix: U }, [
    'lora_unet_input_blocks_1_1_proj_in.lora_up.weight', 'lora_unet_input_blocks_1_1_proj_in.lora_down.weight',
    'lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight', 'lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight',
    'lora_unet_up_blocks_1_attentions_0_proj_out.lora_up.weight', 'lora_unet_up_blocks_1_attentions_0_proj_out.lora_down.weight',
    'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.up.weight',
    'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight',
    'unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0.lora_B.weight',
    'unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0.lora_A.weight',
    'lora_unet_nowhere.lora_up.weight', 'lora_unet_nowhere.lora_down.weight', 'stray_tensor',
  ]);
  assert.equal(t['lora_unet_input_blocks_1_1_proj_in'], `${U}input_blocks.1.1.proj_in.weight`);
  assert.equal(t['lora_unet_down_blocks_0_resnets_0_conv1'], `${U}input_blocks.1.0.in_layers.2.weight`);
  assert.equal(t['lora_unet_up_blocks_1_attentions_0_proj_out'], `${U}output_blocks.3.1.proj_out.weight`);
  assert.equal(t['unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q'], `${U}input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight`);
  assert.equal(t['unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0'], `${U}middle_block.1.transformer_blocks.0.attn2.to_out.0.weight`);
  assert.equal(t['lora_unet_nowhere.lora_up.weight'], 'NOT LOADED');
  assert.equal(t['stray_tensor'], 'NOT LOADED');
  const te = targets(ck, { kind: 'clip', towers: [{ prefix: CLIP_PREFIXES.sd1, role: 'l' }] }, [
    'lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight', 'lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight',
    'text_encoder.text_model.encoder.layers.1.mlp.fc1.lora_B.weight', 'text_encoder.text_model.encoder.layers.1.mlp.fc1.lora_A.weight',
    'lora_te2_text_model_encoder_layers_0_mlp_fc2.lora_up.weight',
  ]);
  assert.equal(te['lora_te_text_model_encoder_layers_0_self_attn_q_proj'], `${CLIP_PREFIXES.sd1}.encoder.layers.0.self_attn.q_proj.weight`);
  assert.equal(te['text_encoder.text_model.encoder.layers.1.mlp.fc1'], `${CLIP_PREFIXES.sd1}.encoder.layers.1.mlp.fc1.weight`);
  assert.equal(te['lora_te2_text_model_encoder_layers_0_mlp_fc2.lora_up.weight'], 'NOT LOADED', 'te2 means SDXL clip_g');
});

test('key mapping: SDXL te1/te2 and SD2 OpenCLIP q/k/v as row slices of the fused in_proj', () => {
  const xl = join(dir, 'sdxl.safetensors');
  writeSdCheckpoint(xl, { family: 'sdxl', seed: 2 });
  const roles = ['l', 'g'] as const;
  const g = SafetensorsFile.open(xl);
  const w = g.get(`${CLIP_PREFIXES.sdxl_g}.token_embedding.weight`).shape[1]!;
  g.close();
  const names = ['lora_te1_text_model_encoder_layers_0_mlp_fc1', 'lora_te2_text_model_encoder_layers_1_self_attn_k_proj', 'text_encoder_2.text_model.encoder.layers.0.self_attn.v_proj']
    .flatMap((n) => [`${n}.lora_up.weight`, `${n}.lora_down.weight`]);
  const tl = targets(xl, { kind: 'clip', towers: [{ prefix: CLIP_PREFIXES.sdxl_l, role: 'l' }], roles }, names);
  assert.equal(tl['lora_te1_text_model_encoder_layers_0_mlp_fc1'], `${CLIP_PREFIXES.sdxl_l}.encoder.layers.0.mlp.fc1.weight`);
  const tg = targets(xl, { kind: 'clip', towers: [{ prefix: CLIP_PREFIXES.sdxl_g, role: 'g' }], roles }, names);
  assert.equal(tg['lora_te2_text_model_encoder_layers_1_self_attn_k_proj'], `${CLIP_PREFIXES.sdxl_g}.transformer.resblocks.1.attn.in_proj_weight[${w}:${2 * w}]`);
  assert.equal(tg['text_encoder_2.text_model.encoder.layers.0.self_attn.v_proj'], `${CLIP_PREFIXES.sdxl_g}.transformer.resblocks.0.attn.in_proj_weight[${2 * w}:${3 * w}]`);
  const sd2 = join(dir, 'sd2.safetensors');
  writeSdCheckpoint(sd2, { family: 'sd2', seed: 3 });
  const t2 = targets(sd2, { kind: 'clip', towers: [{ prefix: CLIP_PREFIXES.sd2, role: 'h' }] }, ['lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight', 'lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight']);
  assert.match(t2['lora_te_text_model_encoder_layers_0_self_attn_q_proj']!, /resblocks\.0\.attn\.in_proj_weight\[0:\d+\]$/);
});

// A one-layer graph over a weight source: y = x·Wᵀ + b with W read through the source.
const LIN = 'model.diffusion_model.lin';
async function runLinear(src: WeightSource): Promise<Float32Array> {
  const g = new GraphBuilder({ name: 'lin' });
  g.output(linear(g, src as never, LIN, g.input('x', 'float32', [2, 3])), 'y');
  const s = await sessionFor(g, { threads: 1 });
  const r = await runFloat(s, { x: { data: Float32Array.from(seq(6, 9)), dims: [2, 3] } });
  await s.release();
  return r.y!.data;
}
const W = seq(12, 0), B = seq(4, 1), UP1 = seq(8, 2), DN1 = seq(6, 3), UP2 = seq(4, 4), DN2 = seq(3, 5);
const base = join(dir, 'lin.safetensors');
writeSafetensors(base, { [`${LIN}.weight`]: f32([4, 3], W), [`${LIN}.bias`]: f32([4], B) });
const loraA = join(dir, 'a.safetensors');
writeSafetensors(loraA, { 'lora_unet_lin.lora_up.weight': f32([4, 2], UP1), 'lora_unet_lin.lora_down.weight': f32([2, 3], DN1), 'lora_unet_lin.alpha': f32([], [1]) });
const loraB = join(dir, 'b.safetensors'); // PEFT names, rank 1, no alpha (factor 1)
writeSafetensors(loraB, { 'diffusion_model.lin.lora_B.weight': f32([4, 1], UP2), 'diffusion_model.lin.lora_A.weight': f32([1, 3], DN2) });
const scope: LoraScope = { kind: 'unet', prefix: 'model.diffusion_model.' };

/** W + Σ s·scale·up@down in float64. */
function expectedW(parts: Array<[number[], number[], number, number]>): number[] {
  return W.map((w, idx) => {
    const o = Math.floor(idx / 3), i = idx % 3;
    let v = w;
    for (const [up, dn, r, f] of parts) for (let k = 0; k < r; k++) v += f * up[o * r + k]! * dn[k * 3 + i]!;
    return v;
  });
}

test('strength 0 is the base graph exactly; s=2 doubles the delta of s=1; merged weight is W + s·alpha/rank·up@down', async () => {
  const f = SafetensorsFile.open(base);
  const a0 = applyLoras(f, scope, [{ path: loraA, strength: 0 }], { cacheDir: cache });
  assert.equal(a0.source, f, 'no LoRA left: the base source itself, no overlay');
  assert.equal(a0.side, undefined);
  const y0 = await runLinear(f);
  assert.deepEqual(await runLinear(a0.source), y0);
  const a1 = applyLoras(f, scope, [{ path: loraA, strength: 1 }], { cacheDir: cache });
  const a2 = applyLoras(f, scope, [{ path: loraA, strength: 2 }], { cacheDir: cache });
  assert.equal(a1.patched, 1);
  assert.notEqual(a1.side!.path, a2.side!.path);
  const merged = a1.source.readFloat32(`${LIN}.weight`);
  expectedW([[UP1, DN1, 2, 0.5]]).forEach((v, i) => assert.ok(Math.abs(merged[i]! - v) < 1e-6, `W'[${i}]`));
  assert.deepEqual(a1.source.readFloat32(`${LIN}.bias`), f.readFloat32(`${LIN}.bias`), 'bias untouched, read from the checkpoint');
  const y1 = await runLinear(a1.source), y2 = await runLinear(a2.source);
  for (let i = 0; i < y0.length; i++) {
    assert.ok(Math.abs(y1[i]! - y0[i]!) > 1e-4, 'the LoRA changes the output');
    assert.ok(Math.abs((y2[i]! - y0[i]!) - 2 * (y1[i]! - y0[i]!)) < 1e-5, `delta doubles at ${i}`);
  }
  f.close();
});

test('stacked LoRAs sum, in any order, into the same side file; the cache is reused and a strength change rewrites', async () => {
  const f = SafetensorsFile.open(base);
  const ab = applyLoras(f, scope, [{ path: loraA, strength: 0.7 }, { path: loraB, strength: -1.5 }], { cacheDir: join(dir, 'c2') });
  assert.equal(ab.side!.written, true);
  const ba = applyLoras(f, scope, [{ path: loraB, strength: -1.5 }, { path: loraA, strength: 0.7 }], { cacheDir: join(dir, 'c2') });
  assert.equal(ba.side!.path, ab.side!.path);
  assert.equal(ba.side!.written, false, 'second apply writes nothing');
  const merged = ab.source.readFloat32(`${LIN}.weight`);
  expectedW([[UP1, DN1, 2, 0.7 * 0.5], [UP2, DN2, 1, -1.5]]).forEach((v, i) => assert.ok(Math.abs(merged[i]! - v) < 1e-6, `sum at ${i}`));
  const before = readFileSync(ab.side!.path);
  const other = applyLoras(f, scope, [{ path: loraA, strength: 0.7 }, { path: loraB, strength: 1 }], { cacheDir: join(dir, 'c2') });
  assert.equal(other.side!.written, true);
  assert.notEqual(other.side!.path, ab.side!.path);
  assert.notDeepEqual(other.source.readFloat32(`${LIN}.weight`), merged);
  assert.deepEqual(readFileSync(ab.side!.path), before, 'the earlier side file is left as it was');
  const yab = await runLinear(ab.source), yba = await runLinear(ba.source);
  assert.deepEqual(yab, yba);
  f.close();
});

test('fp16 bases stay fp16 in the side file; LoCon 3×3 conv downs; DoRA is refused by name', () => {
  const h = join(dir, 'conv16.safetensors');
  const cw = seq(2 * 3 * 9, 6);
  writeSafetensors(h, { 'model.diffusion_model.c.weight': { dtype: 'F16', shape: [2, 3, 3, 3], data: Uint16Array.from(cw, (v) => Math.round(v * 0) + 0x3c00) } });
  const locon = join(dir, 'locon.safetensors');
  writeSafetensors(locon, { 'lora_unet_c.lora_down.weight': f32([1, 3, 3, 3], seq(27, 7)), 'lora_unet_c.lora_up.weight': f32([2, 1, 1, 1], [0.5, -0.25]) });
  const f = SafetensorsFile.open(h);
  const a = applyLoras(f, scope, [{ path: locon, strength: 1 }], { cacheDir: cache });
  assert.equal(a.source.get('model.diffusion_model.c.weight').dtype, 'F16');
  const got = a.source.readFloat32('model.diffusion_model.c.weight');
  const dn = seq(27, 7);
  got.forEach((v, i) => assert.ok(Math.abs(v - (1 + [0.5, -0.25][Math.floor(i / 27)]! * dn[i % 27]!)) < 2e-3, `conv W'[${i}]`));
  const dora = join(dir, 'dora.safetensors');
  writeSafetensors(dora, { 'lora_unet_c.lora_down.weight': f32([1, 27], seq(27, 1)), 'lora_unet_c.lora_up.weight': f32([2, 1], [1, 1]), 'lora_unet_c.dora_scale': f32([2, 1], [1, 1]) });
  assert.throws(() => applyLoras(f, scope, [{ path: dora, strength: 1 }], { cacheDir: cache }), /dora\.safetensors.*"lora_unet_c" is a DoRA module/);
  f.close();
  assert.ok(existsSync(cache));
});
