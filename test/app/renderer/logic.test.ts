import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uiToApi } from '../../../engine/workflow/convert.ts';
import { addPngText } from '../../../engine/io/png.ts';
import { stringifyJson } from '../../../engine/workflow/json.ts';
import { createRegistry } from '../../../nodes/index.ts';
import { registryFromObjectInfo } from '../../../app/renderer/registry.ts';
import { readPngTextChunks } from '../../../app/renderer/png-text.ts';
import { readWorkflowFile } from '../../../app/renderer/workflow-file.ts';
import { searchNodes } from '../../../app/renderer/fuzzy.ts';
import { nextSeed, RANDOM_MAX } from '../../../app/renderer/seed-control.ts';
import { commandFor } from '../../../app/renderer/keybindings.ts';
import { parseBinaryFrame } from '../../../app/renderer/ws-frames.ts';
import { DEFAULT_WORKFLOW } from '../../../app/renderer/default-workflow.ts';
import type { ObjectInfo } from '../../../app/shared/wire.ts';

const EX = '/work/shared/comfy-examples';
const real = createRegistry();
// Through the server's own serializer and the browser's JSON.parse: exactly what the renderer receives.
const info = JSON.parse(stringifyJson(real.objectInfo({ listModels: () => [], listInput: () => [] }))) as ObjectInfo;
const fromInfo = registryFromObjectInfo(info);
const convert = (wf: any, reg: any) => {
  try {
    return uiToApi(wf, reg, { random: () => 0.25, now: new Date(2024, 0, 2) });
  } catch (e) {
    return { error: (e as Error).message };
  }
};

test('the registry rebuilt from /object_info converts every ComfyUI example exactly as the engine does', () => {
  const files = readdirSync(join(EX, 'workflows')).filter((f) => f.endsWith('.workflow.json'));
  assert.ok(files.length >= 10);
  for (const f of [...files, 'default']) {
    const wf = f === 'default' ? DEFAULT_WORKFLOW : JSON.parse(readFileSync(join(EX, 'workflows', f), 'utf8'));
    assert.deepEqual(convert(wf, fromInfo), convert(wf, real), f);
  }
  assert.equal(fromInfo.names().length, real.names().length);
});

test('the default workflow converts to ComfyUI\'s default API prompt', () => {
  const api = uiToApi(DEFAULT_WORKFLOW, fromInfo);
  assert.deepEqual(Object.keys(api).sort(), ['3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(api['3'].inputs.model, ['4', 0]);
  assert.equal(api['3'].inputs.steps, 20);
  assert.equal(api['3'].inputs.control_after_generate, undefined);
  assert.equal(api['9'].inputs.filename_prefix, 'ComfyUI');
});

test('PNG text chunks are read in the browser reader, including compressed iTXt', async () => {
  const png = readFileSync(join(EX, 'png/lora.png'));
  const text = await readPngTextChunks(png);
  assert.ok(JSON.parse(text.workflow).nodes.length > 0);
  assert.ok(JSON.parse(text.prompt));
  // iTXt, compressed: built by hand around a real PNG.
  const { deflateSync } = await import('node:zlib');
  const body = Buffer.concat([Buffer.from('workflow\0\x01\x00\0\0', 'latin1'), deflateSync(Buffer.from('{"nodes":[],"é":1}'))]);
  const chunk = Buffer.alloc(12 + body.length);
  chunk.writeUInt32BE(body.length, 0);
  chunk.write('iTXt', 4, 'latin1');
  body.copy(chunk, 8);
  const small = readFileSync(join(EX, 'images/shark_depthmap.png'));
  const withItxt = Buffer.concat([small.subarray(0, 33), chunk, small.subarray(33)]);
  assert.equal((await readPngTextChunks(withItxt)).workflow, '{"nodes":[],"é":1}');
  await assert.rejects(readPngTextChunks(new Uint8Array([1, 2, 3])), /not a PNG/);
});

test('dropped files: UI JSON, API JSON, PNG with workflow, PNG with only a prompt, and junk', async () => {
  const ui = readFileSync(join(EX, 'workflows/lora__lora.workflow.json'));
  assert.equal((await readWorkflowFile('a.json', ui)).kind, 'ui');
  const apiJson = readFileSync(join(EX, 'workflows/lora__lora.prompt.json'));
  assert.equal((await readWorkflowFile('a.json', apiJson)).kind, 'api');
  assert.equal((await readWorkflowFile('x.png', readFileSync(join(EX, 'png/img2img_workflow.png')))).kind, 'ui');
  const promptOnly = addPngText(readFileSync(join(EX, 'images/shark_depthmap.png')), { prompt: apiJson.toString() });
  assert.equal((await readWorkflowFile('p.png', promptOnly)).kind, 'api');
  await assert.rejects(readWorkflowFile('s.png', readFileSync(join(EX, 'images/shark_depthmap.png'))), /no embedded workflow/);
  await assert.rejects(readWorkflowFile('j.json', new TextEncoder().encode('{"a":1}')), /neither/);
});

test('node search is fuzzy over display name, class name and category', () => {
  const items = real.all().map((d) => ({ type: d.name, title: d.displayName ?? d.name, category: d.category }));
  assert.equal(searchNodes(items, 'ksampler')[0].type, 'KSampler');
  assert.equal(searchNodes(items, 'img invert')[0].type, 'ImageInvert');
  assert.equal(searchNodes(items, 'clip text encode')[0].type, 'CLIPTextEncode');
  assert.ok(searchNodes(items, 'latent').every((i) => /l.*a.*t.*e.*n.*t/i.test(i.title + i.type + i.category)));
  assert.deepEqual(searchNodes(items, 'zzzqqq'), []);
});

test('control after generate moves seeds within bounds', () => {
  assert.equal(nextSeed(5, 'fixed'), 5);
  assert.equal(nextSeed(5, 'increment'), 6);
  assert.equal(nextSeed(0, 'decrement', { min: 0, max: 10 }), 10);
  assert.equal(nextSeed(10, 'increment', { min: 0, max: 10 }), 0);
  assert.equal(nextSeed(5, 'randomize', { min: 0, max: 2 ** 64 }, () => 0.999999999), RANDOM_MAX - Math.ceil(0.000000001 * (RANDOM_MAX + 1)) + 1);
  assert.equal(nextSeed(5, true, {}, () => 0), 0);
});

test('keybindings map to commands; only a few fire while typing', () => {
  const k = (key: string, mods: Partial<{ ctrlKey: boolean; shiftKey: boolean; altKey: boolean; metaKey: boolean }> = {}) => ({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
  assert.equal(commandFor(k('Enter', { ctrlKey: true }), false), 'queue');
  assert.equal(commandFor(k('Enter', { metaKey: true }), true), 'queue');
  assert.equal(commandFor(k('Enter', { ctrlKey: true, altKey: true }), false), 'interrupt');
  assert.equal(commandFor(k('Z', { ctrlKey: true, shiftKey: true }), false), 'redo');
  assert.equal(commandFor(k('z', { ctrlKey: true }), true), null, 'undo inside a text field is the field\'s own');
  assert.equal(commandFor(k('b', { ctrlKey: true }), false), 'bypass');
  assert.equal(commandFor(k('x'), false), null);
});

test('binary preview frames: ComfyUI\'s 8-byte header and the metadata variant', () => {
  const frame = (head: number[], body: Uint8Array) => {
    const b = new Uint8Array(head.length * 4 + body.length);
    const v = new DataView(b.buffer);
    head.forEach((h, i) => v.setUint32(i * 4, h));
    b.set(body, head.length * 4);
    return b.buffer;
  };
  const jpeg = parseBinaryFrame(frame([1, 1], new Uint8Array([0xff, 0xd8])))!;
  assert.equal(jpeg.mime, 'image/jpeg');
  assert.deepEqual([...jpeg.bytes], [0xff, 0xd8]);
  assert.equal(parseBinaryFrame(frame([1, 2], new Uint8Array([1])))!.mime, 'image/png');
  const meta = new TextEncoder().encode(JSON.stringify({ node_id: '3', image_type: 'image/png' }));
  const withMeta = new Uint8Array(8 + meta.length + 2);
  new DataView(withMeta.buffer).setUint32(0, 4);
  new DataView(withMeta.buffer).setUint32(4, meta.length);
  withMeta.set(meta, 8);
  const m = parseBinaryFrame(withMeta.buffer)!;
  assert.equal(m.nodeId, '3');
  assert.equal(m.bytes.length, 2);
  assert.equal(parseBinaryFrame(new ArrayBuffer(4)), null);
  assert.equal(parseBinaryFrame(frame([3, 0], new Uint8Array(2))), null);
});
