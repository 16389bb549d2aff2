/**
 * ControlNet Union (xinsir controlnet-union-sdxl-1.0 layout) on tiny generated SDXL-shaped files, in real ORT
 * sessions. Oracles: (1) the union terms recomputed in plain TypeScript (test/support/union-ref.ts) and folded
 * into a plain diffusers ControlNet's biases (the type embedding into time_embedding.linear_2.bias, the hint
 * shift into controlnet_cond_embedding.conv_out.bias: both are constants for a fixed hint) must give the union
 * net's residuals; (2) with spatial_ch_projs and control_add_embedding.linear_2 zeroed the union net must be
 * exactly the plain ControlNet its other tensors make up. Types switch through the graph input, never a rebuild.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WeftError } from '../../../engine/errors.ts';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { writeControlNet } from '../../../engine/models/fixtures/index.ts';
import type { Tensors } from '../../../engine/models/fixtures/sink.ts';
import { isUnionKey, writeUnionControlNet } from '../../../engine/models/fixtures/union.ts';
import { controlNetSession, loadControlNetModel } from '../../../engine/models/controlnet/apply.ts';
import type { ControlNetModel } from '../../../engine/models/controlnet/socket.ts';
import { controlAddEmbedding as emitTypeEmbedding, controlTypeVector, declareControlType, setUnionControlNetType, unionHint } from '../../../engine/models/controlnet/union.ts';
import { asBuilderFile } from '../../../engine/models/lora/bridge.ts';
import { createSession, GraphBuilder, runFloat } from '../../../engine/onnx/index.ts';
import type { WireFeeds } from '../../../engine/runtime/wire.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { controlAddEmbedding, hintFeatureMean, unionShift } from '../../support/union-ref.ts';
import { rand, tempEnv, type Env } from '../../e2e/helpers.ts';

let env: Env;
let dir: string;
let union: Tensors;
const CTX = 80, ADM = 1584; // the tiny SDXL fixture's context and pooled widths

before(() => {
  env = tempEnv();
  dir = path.join(env.base, 'models', 'controlnet');
  fs.mkdirSync(dir, { recursive: true });
  union = writeUnionControlNet(path.join(dir, 'union.safetensors'), { family: 'sdxl' }, { seed: 61 });
});

const load = (name: string, warn?: (m: string) => void): ControlNetModel => loadControlNetModel(path.join(dir, name), { cacheDir: path.join(env.base, 'temp'), warn });
const typed = (net: ControlNetModel, type: string): ControlNetModel => setUnionControlNetType(net, type);

/** `tensors` without the union extras, `edit` applied, written as `name`. */
function plain(name: string, tensors: Tensors, edit: (t: Tensors) => void = () => {}): string {
  const t: Tensors = Object.fromEntries(Object.entries(tensors).filter(([k]) => !isUnionKey(k)));
  edit(t);
  writeSafetensors(path.join(dir, name), t);
  return name;
}

// One hint image in both rows (cond and uncond share it, as in sampling); other inputs differ per row.
const hint1 = rand([1, 3, 64, 64], 8, 0.5, 0.5).data;
const hint = Float32Array.from({ length: hint1.length * 2 }, (_, i) => hint1[i % hint1.length]!);

/** Raw residuals of `net` (batch 2, 8×8 latent), fed exactly as the control stage feeds them. */
async function residuals(net: ControlNetModel): Promise<Float32Array[]> {
  const s = await controlNetSession(env.services.models, net);
  const w = (t: Tensor): WireFeeds[string] => ({ type: 'float32', dims: [...t.shape], data: t.data.slice() });
  const feeds: WireFeeds = {
    x: w(rand([2, 4, 8, 8], 7)), hint: { type: 'float32', dims: [2, 3, 64, 64], data: hint.slice() },
    timesteps: { type: 'float32', dims: [2], data: Float32Array.of(999, 250) }, context: w(rand([2, 77, CTX], 9)), y: w(rand([2, ADM], 10)),
  };
  if (net.union) feeds.control_type = { type: 'float32', dims: [net.union.types], data: Float32Array.from({ length: net.union.types }, (_, i) => (i === net.controlType ? 1 : 0)) };
  const out = await s.handle.run(feeds);
  return s.outputs.map((o) => out[o]!.data as Float32Array);
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((t, k) => t.forEach((v, i) => { m = Math.max(m, Math.abs(v - b[k]![i]!)); }));
  return m;
}
const magnitude = (r: Float32Array[]): number => Math.max(...r.map((t) => t.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));

test('a union file loads with its type count; the union tensors are read in place under ComfyUI names', () => {
  const warnings: string[] = [];
  const net = load('union.safetensors', (m) => warnings.push(m));
  assert.deepEqual(net.union, { types: 8 });
  assert.equal(net.controlType, undefined, 'straight from the loader: "auto"');
  assert.deepEqual(warnings, [], 'every tensor is used');
  const src = net.open();
  const f = SafetensorsFile.open(path.join(dir, 'union.safetensors'));
  try {
    for (const [ldm, d] of [['transformer_layes.0.attn.in_proj.weight', 'transformer_layes.0.attn.in_proj_weight'], ['task_embedding', 'task_embedding'],
      ['control_add_embedding.linear_2.bias', 'control_add_embedding.linear_2.bias'], ['input_hint_block.14.weight', 'controlnet_cond_embedding.conv_out.weight']] as const) {
      assert.equal(src.locate!(`control_model.${ldm}`).tensor.offset, f.get(d).offset, `${ldm} → ${d}`);
    }
  } finally {
    src.close();
    f.close();
  }
  assert.equal(typed(net, 'depth').controlType, 1);
  assert.equal(typed(typed(net, 'repaint'), 'auto').controlType, undefined);
});

test('each type matches the TypeScript reference folded into a plain ControlNet (and "auto" adds only the type embedding)', async () => {
  const net = load('union.safetensors');
  const mean = hintFeatureMean(union, hint1, 64, 64);
  const unfolded = await residuals(load(plain('plain.safetensors', union)));
  for (const [type, index] of [['auto', undefined], ['depth', 1], ['repaint', 7]] as const) {
    const folded = plain(`folded_${index}.safetensors`, union, (t) => {
      const bump = (k: string, v: Float64Array): void => { t[k] = { ...t[k]!, data: (t[k]!.data as Float32Array).map((b, i) => b + v[i]!) }; };
      bump('time_embedding.linear_2.bias', controlAddEmbedding(union, index, 8));
      if (index !== undefined) bump('controlnet_cond_embedding.conv_out.bias', unionShift(union, mean, index));
    });
    const got = await residuals(typed(net, type));
    const want = await residuals(load(folded));
    assert.ok(magnitude(want) > 0.05, 'residuals are not trivially small');
    assert.ok(maxDiff(got, unfolded) > 1e-2, `${type}: the union terms change the residuals (the comparison can fail)`);
    // Folding moves float32 roundings (b + term instead of (Wx + b) + term); residuals are ~12 here.
    assert.ok(maxDiff(got, want) < 1e-5 * magnitude(want), `${type}: ${maxDiff(got, want)} from the reference (magnitude ${magnitude(want)})`);
  }
});

test('the union emitters alone (type embedding, hint shift) match the reference within 1e-5', async () => {
  const src = load('union.safetensors').open();
  const g = new GraphBuilder({ name: 'union-part' });
  const e = { g, file: asBuilderFile(src), prefix: 'control_model.' };
  const spec = { types: 8, embedDim: 256 };
  const ct = declareControlType(e, spec);
  g.output(emitTypeEmbedding(e, ct, spec), 'emb', 'float32', [1, 128]);
  g.output(unionHint(e, g.input('cond', 'float32', [2, 32, 8, 8]), ct), 'hint', 'float32', [2, 32, 8, 8]);
  const { bytes, weightsDir } = g.build();
  src.close();
  const session = await createSession(bytes, weightsDir, { threads: 1 });
  try {
    const cond = rand([2, 32, 8, 8], 11, 2);
    const rowMean = (b: number): Float64Array => Float64Array.from({ length: 32 }, (_, c) => cond.data.subarray((b * 32 + c) * 64, (b * 32 + c + 1) * 64).reduce((a, v) => a + v, 0) / 64);
    for (const type of [undefined, 0, 3, 7]) {
      const r = await runFloat(session, { control_type: { data: controlTypeVector(type, 8), dims: [8] }, cond: { data: cond.data, dims: cond.shape } });
      const emb = controlAddEmbedding(union, type, 8);
      assert.ok(Math.max(...r.emb!.data.map((v, i) => Math.abs(v - emb[i]!))) < 1e-5, `type ${type}: control_add_embedding`);
      if (type === undefined) {
        assert.deepEqual(r.hint!.data, cond.data, 'auto: the hint features pass unchanged');
        continue;
      }
      let worst = 0, size = 0;
      for (let b = 0; b < 2; b++) {
        const shift = unionShift(union, rowMean(b), type);
        for (let c = 0; c < 32; c++) {
          size = Math.max(size, Math.abs(shift[c]!));
          for (let p = 0; p < 64; p++) { const i = (b * 32 + c) * 64 + p; worst = Math.max(worst, Math.abs(r.hint!.data[i]! - (cond.data[i]! + shift[c]!))); }
        }
      }
      assert.ok(size > 0.1 && worst < 1e-5, `type ${type}: shift off by ${worst} (size ${size})`);
    }
  } finally {
    await session.release();
  }
});

test('zeroed spatial_ch_projs and control_add_embedding.linear_2: exactly the plain diffusers ControlNet', async () => {
  const neutral = writeUnionControlNet(path.join(dir, 'neutral.safetensors'), { family: 'sdxl' }, { seed: 61, neutral: true });
  const want = await residuals(load(plain('neutral_plain.safetensors', neutral)));
  for (const type of ['auto', 'canny/lineart/anime_lineart/mlsd', 'tile']) assert.equal(maxDiff(await residuals(typed(load('neutral.safetensors'), type)), want), 0, type);
});

test('types differ, a type is deterministic, and switching types reuses the one session', async () => {
  const net = load('union.safetensors');
  const before = env.services.models.loadedKeys().length;
  const [a, b] = [typed(net, 'openpose'), typed(net, 'segment')];
  const ra = await residuals(a);
  assert.ok(maxDiff(ra, await residuals(b)) > 1e-2, 'openpose ≠ segment');
  assert.ok(maxDiff(ra, await residuals(net)) > 1e-2, 'openpose ≠ auto');
  assert.equal(maxDiff(ra, await residuals(typed(net, 'openpose'))), 0, 'same type, same residuals');
  assert.equal(controlNetSession(env.services.models, a), controlNetSession(env.services.models, b), 'one session for every type');
  assert.ok(env.services.models.loadedKeys().length <= before + 1);
});

test('an fp16 file (as the real ones ship) runs and stays close to its fp32 source', async () => {
  writeUnionControlNet(path.join(dir, 'union_fp16.safetensors'), { family: 'sdxl' }, { seed: 61, dtype: 'F16' });
  const [half, full] = [await residuals(typed(load('union_fp16.safetensors'), 'depth')), await residuals(typed(load('union.safetensors'), 'depth'))];
  assert.ok(half.every((t) => t.every(Number.isFinite)));
  assert.ok(maxDiff(half, full) < 1e-2 * magnitude(full), 'only the weights\' fp16 rounding differs');
});

test('errors: broken union files at load, unknown or missing types, a type on a plain ControlNet', () => {
  const cases: Array<[string, (t: Tensors) => void, RegExp]> = [
    ['no_proj.safetensors', (t) => { delete t['spatial_ch_projs.bias']; }, /ControlNet Union, but spatial_ch_projs\.bias is missing/],
    ['wide_task.safetensors', (t) => { t.task_embedding = { dtype: 'F32', shape: [8, 40], data: new Float32Array(320) }; }, /task_embedding rows are 40 wide for a 32-channel/],
    ['bad_embed.safetensors', (t) => { t['control_add_embedding.linear_1.weight'] = { dtype: 'F32', shape: [128, 100], data: new Float32Array(12800) }; }, /linear_1\.weight \[128, 100\] does not fit 8 types/],
  ];
  for (const [name, edit, re] of cases) {
    const t = { ...union };
    edit(t);
    writeSafetensors(path.join(dir, name), t);
    assert.throws(() => load(name), (e: unknown) => e instanceof WeftError && re.test(e.message) && e.message.includes(path.join(dir, name)), name);
  }
  const net = load('union.safetensors');
  assert.throws(() => typed(net, 'sketch'), (e: unknown) => e instanceof WeftError && e.input === 'type' && /unknown union ControlNet type 'sketch'/.test(e.message));
  writeUnionControlNet(path.join(dir, 'six.safetensors'), { family: 'sdxl' }, { seed: 62, types: 6 });
  const six = load('six.safetensors');
  assert.deepEqual(six.union, { types: 6 });
  assert.equal(typed(six, 'segment').controlType, 5);
  assert.throws(() => typed(six, 'tile'), (e: unknown) => e instanceof WeftError && e.input === 'type' && e.message.includes('six.safetensors') && /knows 6 control types/.test(e.message));
  writeControlNet(path.join(dir, 'ldm.safetensors'), { family: 'sdxl' }, { seed: 63 });
  const ldm = load('ldm.safetensors');
  const warnings: string[] = [];
  assert.equal(setUnionControlNetType(ldm, 'depth', (m) => warnings.push(m)), ldm, 'a plain ControlNet ignores the type');
  assert.match(warnings.join(), /not a ControlNet Union/);
});
