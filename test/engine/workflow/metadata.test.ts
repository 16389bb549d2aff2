import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { convertCommand } from '../../../engine/cli/convert.ts';
import { addPngText } from '../../../engine/io/png.ts';
import { a1111ToApi, parseA1111 } from '../../../engine/workflow/a1111.ts';
import { normalizeModelName } from '../../../engine/workflow/api.ts';
import { uiToApi } from '../../../engine/workflow/convert.ts';
import { jsonEqual, parseJson, stringifyJson } from '../../../engine/workflow/json.ts';
import { loadWorkflowBytes } from '../../../engine/workflow/metadata.ts';
import { apiToUi } from '../../../engine/workflow/to-ui.ts';
import { testRegistry } from './registry-fixture.ts';

const A1111 = `masterpiece, a cat <lora:detail:0.6>
on a sofa
Negative prompt: blurry, lowres
Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 18446744073709551615, Size: 640x896, Model hash: abc123, Model: dreamshaper_8, Clip skip: 2, Lora hashes: "detail: 1a2b, other: 3c4d", Version: v1.9.4`;

test('A1111 parameters become an equivalent API graph', () => {
  const p = parseA1111(A1111)!;
  assert.equal(p.negative, 'blurry, lowres');
  assert.equal(p.settings['Lora hashes'], 'detail: 1a2b, other: 3c4d');
  const g = a1111ToApi(A1111)!;
  const ks = Object.values(g).find((n) => n.class_type === 'KSampler')!;
  assert.equal(ks.inputs.seed, 18446744073709551615n);
  assert.equal(ks.inputs.steps, 28);
  assert.equal(ks.inputs.cfg, 6.5);
  assert.equal(ks.inputs.sampler_name, 'dpmpp_2m');
  assert.equal(ks.inputs.scheduler, 'karras');
  const latent = Object.values(g).find((n) => n.class_type === 'EmptyLatentImage')!;
  assert.deepEqual([latent.inputs.width, latent.inputs.height], [640, 896]);
  const skip = Object.values(g).find((n) => n.class_type === 'CLIPSetLastLayer')!;
  assert.equal(skip.inputs.stop_at_clip_layer, -2);
  const lora = Object.entries(g).find(([, n]) => n.class_type === 'LoraLoader')!;
  assert.equal(lora[1].inputs.lora_name, 'detail.safetensors');
  assert.equal(lora[1].inputs.strength_model, 0.6);
  assert.deepEqual(ks.inputs.model, [lora[0], 0]);
  const texts = Object.values(g).filter((n) => n.class_type === 'CLIPTextEncode').map((n) => n.inputs.text);
  assert.deepEqual(texts, ['masterpiece, a cat \non a sofa', 'blurry, lowres']);
  assert.equal(Object.values(g).find((n) => n.class_type === 'CheckpointLoaderSimple')!.inputs.ckpt_name, 'dreamshaper_8.safetensors');
  assert.equal(parseA1111('just a caption'), undefined);
});

test('PNG with only A1111 parameters loads as an API graph; PNG with ComfyUI chunks keeps bigint seeds', async () => {
  const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).png().toBuffer();
  const a = loadWorkflowBytes(addPngText(png, { parameters: A1111 }));
  assert.equal(a.source, 'a1111');
  assert.ok(a.api && Object.values(a.api).some((n) => n.class_type === 'SaveImage'));
  const prompt = '{"3": {"inputs": {"seed": 18446744073709551615}, "class_type": "RandomNoise"}}';
  const b = loadWorkflowBytes(addPngText(png, { prompt }));
  assert.equal(b.source, 'png');
  assert.equal(b.api!['3']!.inputs.seed, 18446744073709551615n);
});

/** A WebP with an EXIF chunk laid out as ComfyUI (via PIL) writes it: Make = workflow, Model = prompt. */
function webpWithExif(entries: [number, string][]): Uint8Array {
  const strings = entries.map(([, s]) => Buffer.from(s + '\0', 'utf8'));
  const ifdSize = 2 + entries.length * 12 + 4;
  let dataAt = 8 + ifdSize;
  const tiff = Buffer.alloc(dataAt + strings.reduce((a, s) => a + s.length, 0));
  tiff.write('II', 0, 'latin1');
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(8, 4);
  tiff.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag], i) => {
    const e = 10 + i * 12;
    tiff.writeUInt16LE(tag, e);
    tiff.writeUInt16LE(2, e + 2);
    tiff.writeUInt32LE(strings[i]!.length, e + 4);
    tiff.writeUInt32LE(dataAt, e + 8);
    strings[i]!.copy(tiff, dataAt);
    dataAt += strings[i]!.length;
  });
  const exif = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const chunk = Buffer.alloc(8 + exif.length + (exif.length % 2));
  chunk.write('EXIF', 0, 'latin1');
  chunk.writeUInt32LE(exif.length, 4);
  exif.copy(chunk, 8);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(4 + chunk.length, 4);
  head.write('WEBP', 8, 'latin1');
  return Buffer.concat([head, chunk]);
}

test('WebP EXIF "workflow:" / "prompt:" strings load', () => {
  const wf = { nodes: [{ id: 1, type: 'Note', widgets_values: ['é'] }], links: [], version: 0.4 };
  const prompt = { '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } } };
  const loaded = loadWorkflowBytes(webpWithExif([[0x010f, 'workflow:' + JSON.stringify(wf)], [0x0110, 'prompt:' + JSON.stringify(prompt)]]));
  assert.equal(loaded.source, 'webp');
  assert.deepEqual(loaded.ui, wf);
  assert.deepEqual(loaded.api, prompt);
});

test('apiToUi builds a graph that converts back to the same prompt', () => {
  const registry = testRegistry();
  const g = a1111ToApi(A1111)!;
  const ui = apiToUi(g, registry);
  assert.equal(ui.nodes.length, Object.keys(g).length);
  assert.ok(new Set(ui.nodes.map((n) => stringifyJson(n.pos))).size === ui.nodes.length, 'positions are distinct');
  const back = uiToApi(ui, registry);
  assert.ok(jsonEqual(back, g), stringifyJson(back));
});

test('normalizeModelName makes Windows paths portable', () => {
  assert.equal(normalizeModelName('SDXL\\sub\\model.safetensors'), 'SDXL/sub/model.safetensors');
  assert.equal(normalizeModelName('plain.ckpt'), 'plain.ckpt');
});

test('weft convert: --to api / --to ui, exit 2 naming each unknown type', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-convert-'));
  try {
    const registry = testRegistry();
    const out = { text: '', err: '' };
    const io = { stdout: (s: string) => (out.text += s), stderr: (s: string) => (out.err += s) };
    const apiFile = join(dir, 'a.json');
    writeFileSync(apiFile, stringifyJson(a1111ToApi(A1111)));
    assert.equal(await convertCommand([apiFile, '--to', 'ui'], registry, io), 0);
    const ui = parseJson(out.text) as { nodes: unknown[] };
    assert.equal(ui.nodes.length, Object.keys(a1111ToApi(A1111)!).length);
    const uiFile = join(dir, 'u.json');
    writeFileSync(uiFile, out.text);
    out.text = '';
    assert.equal(await convertCommand([uiFile, '--to=api'], registry, io), 0);
    assert.ok(jsonEqual(parseJson(out.text), a1111ToApi(A1111)));
    const bad = join(dir, 'b.json');
    writeFileSync(bad, JSON.stringify({ nodes: [{ id: 1, type: 'Foo' }, { id: 2, type: 'Bar' }], links: [] }));
    assert.equal(await convertCommand([bad, '--to', 'api'], registry, io), 2);
    assert.match(out.err, /Foo/);
    assert.match(out.err, /Bar/);
    writeFileSync(bad, '{"nodes": [');
    assert.equal(await convertCommand([bad, '--to', 'api'], registry, io), 2);
    assert.equal(await convertCommand([bad], registry, io), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
