/**
 * diffusers-format ControlNets through ControlNetLoader's loader: a generated LDM ControlNet (SD1, and an
 * SDXL-shaped fp16 one with label_emb) is rewritten here under diffusers ControlNetModel names with identical
 * bytes; both files, run in real ORT sessions, must give the same residuals. The renamed view must point at the
 * diffusers file's own bytes, a misnamed file must give different residuals (so the comparison can fail), and
 * broken diffusers files must fail at load naming the file.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WeftError } from '../../../engine/errors.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { writeControlNet } from '../../../engine/models/fixtures/index.ts';
import { controlNetSession, loadControlNetModel } from '../../../engine/models/controlnet/apply.ts';
import type { ControlNetModel } from '../../../engine/models/controlnet/socket.ts';
import { keyRenamer, layoutFromLdm, modulePairs } from '../../../engine/models/diffusers/unet-keys.ts';
import type { WireFeeds } from '../../../engine/runtime/wire.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { rand, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let dir: string;
const cacheDir = (): string => path.join(env.base, 'temp');

before(() => {
  env = tempEnv();
  dir = path.join(env.base, 'models', 'controlnet');
  fs.mkdirSync(dir, { recursive: true });
  writeControlNet(path.join(dir, 'sd1.safetensors'), { family: 'sd1' }, { seed: 42 });
  writeControlNet(path.join(dir, 'sdxl.safetensors'), { family: 'sdxl' }, { seed: 43, dtype: 'F16' });
});

/** LDM ControlNet key (no prefix) → diffusers name, written out independently of the loader's map for the ControlNet parts. */
function diffusersName(key: string, hintLast: number, unet: (k: string) => string | null): string {
  let m = /^input_hint_block\.(\d+)\.(weight|bias)$/.exec(key);
  if (m) {
    const i = Number(m[1]);
    return `controlnet_cond_embedding.${i === 0 ? 'conv_in' : i === hintLast ? 'conv_out' : `blocks.${i / 2 - 1}`}.${m[2]}`;
  }
  m = /^zero_convs\.(\d+)\.0\.(weight|bias)$/.exec(key);
  if (m) return `controlnet_down_blocks.${m[1]}.${m[2]}`;
  m = /^middle_block_out\.0\.(weight|bias)$/.exec(key);
  if (m) return `controlnet_mid_block.${m[1]}`;
  const d = unet(key);
  assert.ok(d, `no diffusers name for ${key}`);
  return d;
}

/** The LDM fixture `from` rewritten to `to` under diffusers names (same dtype, same bytes); `edit` may drop or add tensors. */
function toDiffusers(from: string, to: string, edit: (t: Record<string, TensorToWrite>) => void = () => {}): Record<string, TensorToWrite> {
  const f = SafetensorsFile.open(from);
  const out: Record<string, TensorToWrite> = {};
  try {
    const keys = f.keys().map((k) => k.slice('control_model.'.length));
    const unet = keyRenamer(modulePairs(layoutFromLdm(keys)), true);
    const hintLast = Math.max(...keys.map((k) => /^input_hint_block\.(\d+)\.weight$/.exec(k)).filter((m) => m).map((m) => Number(m![1])));
    for (const k of f.keys()) {
      const t = f.get(k);
      out[diffusersName(k.slice('control_model.'.length), hintLast, unet)] = { dtype: t.dtype, shape: t.shape, data: f.readRaw(k) };
    }
  } finally {
    f.close();
  }
  edit(out);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  writeSafetensors(to, out);
  return out;
}

const load = (file: string, warn?: (m: string) => void): ControlNetModel => loadControlNetModel(file, { cacheDir: cacheDir(), warn });
const wire = (t: Tensor): WireFeeds[string] => ({ type: 'float32', dims: [...t.shape], data: t.data.slice() });

/** Raw residuals of `net` for fixed inputs (batch 2, 8×8 latent). */
async function residuals(net: ControlNetModel, ctx: number, adm = 0): Promise<Float32Array[]> {
  const s = await controlNetSession(env.services.models, net);
  const feeds: WireFeeds = {
    x: wire(rand([2, 4, 8, 8], 7)), hint: wire(rand([2, 3, 64, 64], 8, 0.5, 0.5)),
    timesteps: { type: 'float32', dims: [2], data: Float32Array.of(999, 250) }, context: wire(rand([2, 77, ctx], 9)),
  };
  if (adm) feeds.y = wire(rand([2, adm], 10));
  const out = await s.handle.run(feeds);
  return s.outputs.map((o) => out[o]!.data as Float32Array);
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  a.forEach((t, k) => {
    assert.equal(t.length, b[k]!.length);
    t.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - b[k]![i]!)); });
  });
  return worst;
}

const magnitude = (r: Float32Array[]): number => Math.max(...r.map((t) => t.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));

test('SD1: a diffusers ControlNet gives the residuals of the LDM file it was renamed from, read from its own bytes', async () => {
  const file = path.join(dir, 'sd1_diffusers.safetensors');
  const written = toDiffusers(path.join(dir, 'sd1.safetensors'), file);
  // The real diffusers ControlNetModel names, spelled out (SD1 fixture: 2 levels, 1 res block each, 6 hint convs + conv_in/out).
  for (const k of ['conv_in.weight', 'time_embedding.linear_1.weight', 'down_blocks.0.resnets.0.conv1.weight', 'down_blocks.0.attentions.0.proj_in.weight',
    'down_blocks.0.downsamplers.0.conv.weight', 'down_blocks.1.resnets.0.conv_shortcut.weight', 'mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight',
    'mid_block.resnets.1.time_emb_proj.weight', 'controlnet_cond_embedding.conv_in.weight', 'controlnet_cond_embedding.blocks.5.bias',
    'controlnet_cond_embedding.conv_out.weight', 'controlnet_down_blocks.3.weight', 'controlnet_mid_block.bias']) assert.ok(written[k], k);
  assert.ok(!Object.keys(written).some((k) => k.startsWith('control_model.') || k.includes('input_blocks')), 'nothing keeps an LDM name');

  const warnings: string[] = [];
  const net = load(file, (m) => warnings.push(m));
  assert.equal(net.prefix, 'control_model.');
  assert.deepEqual(warnings, [], 'every tensor is used');
  const src = net.open();
  try {
    const f = SafetensorsFile.open(file);
    try {
      for (const [ldm, d] of [['control_model.input_hint_block.14.weight', 'controlnet_cond_embedding.conv_out.weight'], ['control_model.zero_convs.2.0.bias', 'controlnet_down_blocks.2.bias'],
        ['control_model.input_blocks.2.0.op.weight', 'down_blocks.0.downsamplers.0.conv.weight'], ['control_model.middle_block_out.0.weight', 'controlnet_mid_block.weight']] as const) {
        const at = src.locate!(ldm);
        assert.equal(at.path, file, 'no copy: the builder reads the user file');
        assert.equal(at.tensor.offset, f.get(d).offset, `${ldm} → ${d}`);
      }
      assert.equal(src.keys().length, f.keys().length);
    } finally {
      f.close();
    }
  } finally {
    src.close();
  }

  const want = await residuals(load(path.join(dir, 'sd1.safetensors')), 32);
  const got = await residuals(net, 32);
  assert.ok(magnitude(want) > 1e-2, 'the residuals are not trivially zero');
  assert.equal(maxDiff(want, got), 0, 'same bytes, same graph: identical residuals');

  // Swapping two same-shaped zero convs (a wrong map would do this) must show in the comparison.
  toDiffusers(path.join(dir, 'sd1.safetensors'), path.join(dir, 'sd1_swapped.safetensors'), (t) => {
    for (const s of ['weight', 'bias']) [t[`controlnet_down_blocks.0.${s}`], t[`controlnet_down_blocks.1.${s}`]] = [t[`controlnet_down_blocks.1.${s}`]!, t[`controlnet_down_blocks.0.${s}`]!];
  });
  const swapped = await residuals(load(path.join(dir, 'sd1_swapped.safetensors')), 32);
  assert.ok(maxDiff(want, swapped) > 1e-3, 'a misnamed file gives other residuals');
});

test('SDXL (fp16, label_emb ← add_embedding): diffusers and LDM files give identical residuals', async () => {
  const file = path.join(dir, 'sdxl_diffusers.safetensors');
  const written = toDiffusers(path.join(dir, 'sdxl.safetensors'), file);
  for (const k of ['add_embedding.linear_1.weight', 'add_embedding.linear_2.bias', 'down_blocks.2.attentions.1.transformer_blocks.1.ff.net.0.proj.weight', 'controlnet_down_blocks.8.weight']) assert.ok(written[k], k);
  assert.equal(written['controlnet_down_blocks.0.weight']!.dtype, 'F16');
  const net = load(file);
  const src = net.open();
  const f = SafetensorsFile.open(file);
  try {
    assert.equal(src.locate!('control_model.label_emb.0.0.weight').tensor.offset, f.get('add_embedding.linear_1.weight').offset);
  } finally {
    src.close();
    f.close();
  }
  const adm = written['add_embedding.linear_1.weight']!.shape[1]!;
  const ctx = written['down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight']!.shape[1]!;
  const want = await residuals(load(path.join(dir, 'sdxl.safetensors')), ctx, adm);
  const got = await residuals(net, ctx, adm);
  assert.equal(want.length, 10, 'nine input blocks + the middle block');
  assert.ok(magnitude(want) > 1e-2);
  assert.equal(maxDiff(want, got), 0);
});

test('a diffusers folder (diffusion_pytorch_model.safetensors + config.json) takes heads and shuffle pooling from its config', async () => {
  const folder = path.join(dir, 'control_sd1_shuffle');
  const file = path.join(folder, 'diffusion_pytorch_model.safetensors');
  toDiffusers(path.join(dir, 'sd1.safetensors'), file);
  const config = { _class_name: 'ControlNetModel', attention_head_dim: 8, block_out_channels: [32, 64], global_pool_conditions: true };
  fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify(config));
  const net = load(file);
  assert.deepEqual(net.heads, { numHeads: 8 });
  assert.equal(net.globalAveragePooling, true);
  // 8 heads is also what the shape rule picks for this SD1 net, so the residuals still match the LDM file's.
  assert.equal(maxDiff(await residuals(load(path.join(dir, 'sd1.safetensors')), 32), await residuals(net, 32)), 0);
  // Another model's config beside a renamed single file is not read.
  const single = path.join(folder, 'renamed.safetensors');
  fs.copyFileSync(file, single);
  assert.deepEqual([load(single).heads, load(single).globalAveragePooling], [{}, false]);
});

test('broken diffusers ControlNets fail at load with a WeftError naming the file', () => {
  const sd1 = path.join(dir, 'sd1.safetensors');
  const drop = (...keys: string[]) => (t: Record<string, TensorToWrite>): void => { for (const k of keys) for (const s of ['weight', 'bias']) delete t[`${k}.${s}`]; };
  const cases: Array<[string, (t: Record<string, TensorToWrite>) => void, RegExp]> = [
    ['gap.safetensors', drop('controlnet_down_blocks.2'), /controlnet_down_blocks\.2\.weight is missing/],
    ['short.safetensors', drop('controlnet_down_blocks.3'), /3 controlnet_down_blocks for 4 encoder blocks/],
    ['no_conv_out.safetensors', drop('controlnet_cond_embedding.conv_out'), /controlnet_cond_embedding\.conv_out\.weight is missing/],
    ['hint_gap.safetensors', drop('controlnet_cond_embedding.blocks.1'), /controlnet_cond_embedding\.blocks\.1\.weight is missing/],
    ['no_mid.safetensors', drop('controlnet_mid_block'), /controlnet_mid_block\.weight is missing/],
    ['no_unet.safetensors', drop('conv_in'), /UNet encoder is missing/],
    // A stray union tensor makes it a ControlNet Union (controlnet-union.test.ts), one with its other parts missing.
    ['union.safetensors', (t) => { t['control_add_embedding.linear_1.weight'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) }; }, /a ControlNet Union, but task_embedding is missing/],
  ];
  for (const [name, edit, re] of cases) {
    const file = path.join(dir, 'broken', name);
    toDiffusers(sd1, file, edit);
    assert.throws(() => load(file), (e: unknown) => e instanceof WeftError && re.test(e.message) && e.message.includes(file), name);
  }
  // Stray tensors are reported, not silently dropped.
  const extra = path.join(dir, 'broken', 'extra.safetensors');
  toDiffusers(sd1, extra, (t) => { t['up_blocks.0.resnets.0.conv1.weight'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) }; });
  const warnings: string[] = [];
  load(extra, (m) => warnings.push(m));
  assert.match(warnings.join(), /1 tensor\(s\) .* not used \(up_blocks\.0\.resnets\.0\.conv1\.weight\)/);
});
