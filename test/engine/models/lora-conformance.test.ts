import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { applyLoras, keyMapFor, readLora } from '../../../engine/models/lora/index.ts';
import { CLIP_PREFIXES } from '../../../engine/models/clip/spec.ts';
import { handler } from '../../../engine/conformance/handlers/lora.ts';
import type { CaseTensor, ConformanceCase } from '../../../engine/conformance/types.ts';

const DIR = resolve(import.meta.dirname, '../../../../shared/conformance');
const skip = existsSync(join(DIR, 'cases.json')) ? false : 'shared conformance vectors not present';
const U = 'model.diffusion_model.';

function load(): { c: ConformanceCase; vectors: SafetensorsFile } {
  const all = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')).cases as ConformanceCase[];
  const c = all.find((x) => x.name === 'lora_unet_clip')!;
  return { c, vectors: SafetensorsFile.open(join(DIR, c.file)) };
}

test('lora_unet_clip: every module maps where ComfyUI maps it; merged weights equal the recorded patched tensors', { skip }, () => {
  const { c, vectors } = load();
  const ckpt = SafetensorsFile.open(join(DIR, c.models!.checkpoint!));
  const map = new Map([...keyMapFor(ckpt, { kind: 'unet', prefix: U }), ...keyMapFor(ckpt, { kind: 'clip', towers: [{ prefix: CLIP_PREFIXES.sd1, role: 'l' }] })]);
  const want = c.params.lora_name_to_model_key as Record<string, string>;
  const lora = readLora(join(DIR, c.models!.lora!));
  assert.equal(lora.modules.size, Object.keys(want).length);
  for (const [name, key] of Object.entries(want)) {
    const ours = key.startsWith('diffusion_model.') ? `model.${key}` : key.replace(/^clip_l\.transformer\.text_model\./, `${CLIP_PREFIXES.sd1}.`);
    assert.equal(map.get(name)?.key, ours, name);
  }
  lora.file.close();
  const cache = mkdtempSync(join(tmpdir(), 'weft-lora-conf-'));
  const un = applyLoras(ckpt, { kind: 'unet', prefix: U }, [{ path: join(DIR, c.models!.lora!), strength: c.params.strength_model }], { cacheDir: cache });
  const te = applyLoras(ckpt, { kind: 'clip', towers: [{ prefix: CLIP_PREFIXES.sd1, role: 'l' }] }, [{ path: join(DIR, c.models!.lora!), strength: c.params.strength_clip }], { cacheDir: cache });
  assert.equal(un.patched + te.patched, Object.keys(want).length);
  const pairs: Array<[string, Float32Array]> = [
    ['aux.patched_unet.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight', un.source.readFloat32(`${U}input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight`)],
    ['aux.patched_unet.input_blocks.1.0.in_layers.2.weight', un.source.readFloat32(`${U}input_blocks.1.0.in_layers.2.weight`)],
    ['aux.patched_clip.layers.0.self_attn.q_proj.weight', te.source.readFloat32(`${CLIP_PREFIXES.sd1}.encoder.layers.0.self_attn.q_proj.weight`)],
  ];
  for (const [name, got] of pairs) {
    const exp = vectors.readFloat32(name);
    let err = 0;
    for (let i = 0; i < exp.length; i++) err = Math.max(err, Math.abs(got[i]! - exp[i]!));
    assert.ok(err < 1e-6, `${name}: max error ${err}`);
  }
  ckpt.close(); vectors.close();
  rmSync(cache, { recursive: true, force: true });
});

test('lora_unet_clip through the conformance handler: eps and both CLIP outputs within tolerance', { skip }, async () => {
  const { c, vectors } = load();
  const tensors = new Map<string, CaseTensor>();
  for (const k of vectors.keys()) tensors.set(k, { shape: vectors.get(k).shape, dtype: 'float32', data: vectors.readFloat32(k) });
  const r = await handler.run(c, { dir: DIR, conventions: {}, tensors: async () => tensors, model: (role) => join(DIR, c.models![role]!) });
  assert.ok('got' in r);
  for (const [name, ref] of Object.entries(c.expected)) {
    const exp = tensors.get(ref.tensor)!.data as Float32Array;
    const got = r.got[name]!;
    let err = 0, max = 0;
    for (let i = 0; i < exp.length; i++) { err = Math.max(err, Math.abs(got[i]! - exp[i]!)); max = Math.max(max, Math.abs(exp[i]!)); }
    assert.ok(err <= c.tolerance.abs + c.tolerance.rel_to_max * max, `${name}: error ${err}`);
  }
  vectors.close();
});
