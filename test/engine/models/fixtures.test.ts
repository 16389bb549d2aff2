import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { detectModel } from '../../../engine/models/detect.ts';
import { writeControlNet, writeEsrgan, writeLora, writeSdCheckpoint } from '../../../engine/models/fixtures/index.ts';

const M = '../shared/conformance/models';
const dir = mkdtempSync(join(tmpdir(), 'weft-fx-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Key names with every layer index replaced, so layouts of different depth compare equal. */
function patterns(p: string): Set<string> {
  const f = SafetensorsFile.open(p);
  try {
    return new Set([...f.tensors.keys()].map((k) => k.replace(/(?<=[._])\d+(?=[._])/g, 'N')));
  } finally {
    f.close();
  }
}
function sameLayout(mine: string, real: string): void {
  const a = patterns(mine);
  const b = patterns(real);
  assert.deepEqual([...a].filter((k) => !b.has(k)), [], `keys the real layout lacks (${real})`);
  assert.deepEqual([...b].filter((k) => !a.has(k)), [], `real keys the fixture lacks (${real})`);
}

const files = {
  sd1: join(dir, 'sd1.safetensors'), inpaint: join(dir, 'inpaint.safetensors'), sd2: join(dir, 'sd2.safetensors'), sdxl: join(dir, 'sdxl.safetensors'),
  lora: join(dir, 'lora.safetensors'), cn: join(dir, 'cn.safetensors'), esrgan: join(dir, 'esrgan.safetensors'),
};
test.before(() => {
  writeSdCheckpoint(files.sd1, { family: 'sd1', vocabSize: 1000, seed: 1 });
  writeSdCheckpoint(files.inpaint, { family: 'sd1', inpaint: true, dtype: 'F16', vocabSize: 1000 });
  writeSdCheckpoint(files.sd2, { family: 'sd2', dtype: 'F16', vocabSize: 1000, vaeChMult: [1, 1] }); // like tiny_sd2v: no nin_shortcut
  writeSdCheckpoint(files.sdxl, { family: 'sdxl', dtype: 'F16', vocabSize: 1000 });
  writeLora(files.lora);
  writeControlNet(files.cn);
  writeEsrgan(files.esrgan);
});

test('deterministic from the seed', () => {
  const again = join(dir, 'again.safetensors');
  writeSdCheckpoint(again, { family: 'sd1', vocabSize: 1000, seed: 1 });
  assert.ok(readFileSync(again).equals(readFileSync(files.sd1)));
  writeSdCheckpoint(again, { family: 'sd1', vocabSize: 1000, seed: 2 });
  assert.ok(!readFileSync(again).equals(readFileSync(files.sd1)));
});

test('generated files detect as what they claim to be', () => {
  const d = (p: string) => { const f = SafetensorsFile.open(p); try { return detectModel(f); } finally { f.close(); } };
  assert.equal(d(files.sd1).family, 'sd1');
  assert.equal(d(files.inpaint).variant, 'inpaint');
  assert.equal(d(files.sd2).prediction, 'v');
  assert.equal(d(files.sdxl).family, 'sdxl');
  assert.equal(d(files.lora).kind, 'lora');
  assert.equal(d(files.cn).kind, 'controlnet');
  assert.equal(d(files.esrgan).upscaler!.scale, 4);
});

test('key names match the real single-file layouts (modulo layer counts)', { skip: !existsSync(M) }, () => {
  sameLayout(files.sd1, `${M}/tiny_sd15.safetensors`);
  sameLayout(files.inpaint, `${M}/tiny_sd15_inpaint.safetensors`);
  sameLayout(files.sd2, `${M}/tiny_sd2v.safetensors`);
  sameLayout(files.sdxl, `${M}/tiny_sdxl.safetensors`);
  sameLayout(files.lora, `${M}/tiny_sd15_lora.safetensors`);
  sameLayout(files.cn, `${M}/tiny_sd15_controlnet.safetensors`);
  sameLayout(files.esrgan, `${M}/tiny_esrgan_x4.safetensors`);
});
