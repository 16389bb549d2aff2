import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFolders } from '../../../engine/io/folders.ts';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { EmbeddingLibrary, readEmbeddingFile, selectEmbeddingVectors } from '../../../engine/models/clip/embeddings.ts';
import { ClipModel, releaseClipEncoders } from '../../../engine/models/clip/model.ts';
import { CLIP_PREFIXES } from '../../../engine/models/clip/spec.ts';
import { tinyHfClip } from '../../../engine/models/clip/synthetic.ts';

const base = mkdtempSync(join(tmpdir(), 'weft-emb-'));
after(async () => { await releaseClipEncoders(); rmSync(base, { recursive: true, force: true }); });
for (const d of ['models/embeddings/sub', 'input', 'output', 'temp']) mkdirSync(join(base, d), { recursive: true });
const folders = createFolders({ modelsDir: join(base, 'models'), inputDir: join(base, 'input'), outputDir: join(base, 'output'), tempDir: join(base, 'temp') });
const emb = (name: string) => join(base, 'models/embeddings', name);

// A tiny SD1 text encoder; embeddings are made from rows of its own token table so results can be checked exactly.
const ckpt = join(base, 'sd1_te.safetensors');
writeSafetensors(ckpt, tinyHfClip(CLIP_PREFIXES.sd1, { width: 32, layers: 2, seed: 3 }));
const table = SafetensorsFile.open(ckpt);
const tokenRows = table.readFloat32(`${CLIP_PREFIXES.sd1}.embeddings.token_embedding.weight`);
table.close();
const row = (id: number) => tokenRows.slice(id * 32, (id + 1) * 32);
const cat = (...a: Float32Array[]) => { const o = new Float32Array(a.reduce((s, x) => s + x.length, 0)); let k = 0; for (const x of a) { o.set(x, k); k += x.length; } return o; };
const f32 = (shape: number[], data: Float32Array) => ({ dtype: 'F32' as const, shape, data });
const PHOTO = 1125, OF = 539;

writeSafetensors(emb('photo_of.safetensors'), { emb_params: f32([2, 32], cat(row(PHOTO), row(OF))) });
writeSafetensors(emb('a1111.safetensors'), { 'string_to_param.*': f32([1, 32], row(PHOTO)) });
writeSafetensors(emb('sdxl.safetensors'), { clip_g: f32([1, 48], new Float32Array(48).fill(9)), clip_l: f32([1, 32], row(PHOTO)) });
writeSafetensors(emb('sub/single.safetensors'), { vec: f32([32], row(PHOTO)) });
writeSafetensors(emb('wide.safetensors'), { emb_params: f32([2, 64], new Float32Array(128)) });
writeFileSync(emb('legacy.pt'), a1111Pt(row(PHOTO)));

test('formats: string_to_param, emb_params, clip_l/clip_g per encoder, single tensor, A1111 .pt through the safe reader', () => {
  const lib = new EmbeddingLibrary(folders);
  const get = (name: string, width = 32, key: 'clip_l' | 'clip_g' | 'clip_h' = 'clip_l') => {
    const r = lib.lookup(width, key)(name);
    if ('error' in r) throw new Error(r.error);
    return r;
  };
  assert.deepEqual(get('photo_of'), { vectors: cat(row(PHOTO), row(OF)), count: 2 });
  assert.deepEqual(Array.from(get('a1111').vectors), Array.from(row(PHOTO)));
  assert.deepEqual(Array.from(get('sdxl').vectors), Array.from(row(PHOTO)), 'clip_l for CLIP-L');
  assert.deepEqual(Array.from(get('sdxl', 48, 'clip_g').vectors), new Array(48).fill(9), 'clip_g for bigG');
  assert.deepEqual(get('sub/single.safetensors').count, 1, 'sub-folder, explicit extension, 1-D tensor');
  const pt = get('legacy');
  assert.deepEqual(Array.from(pt.vectors), Array.from(row(PHOTO)));
  assert.ok(readEmbeddingFile(emb('legacy.pt')).has('string_to_param.*'));
});

test('problems come back as messages: missing file, width mismatch, no vectors for this encoder, path escapes', () => {
  const look = new EmbeddingLibrary(folders).lookup(32, 'clip_l');
  const err = (name: string) => { const r = look(name); assert.ok('error' in r, name); return r.error; };
  assert.match(err('nothing'), /no file "nothing" \(or with \.safetensors\/\.pt\/\.bin\) in the embeddings folder/);
  assert.match(err('wide'), /64 wide, the text encoder \(clip_l\) is 32 wide/);
  const h = new EmbeddingLibrary(folders).lookup(1024, 'clip_h')('sdxl');
  assert.ok('error' in h && /vectors for clip_g\/clip_l but none for clip_h/.test(h.error));
  assert.match(err('../sd1_te'), /no file/);
  const sel = selectEmbeddingVectors(new Map(), 32, 'clip_l');
  assert.ok('error' in sel && /no float tensors/.test(sel.error));
});

test('in a prompt: vectors splice in as tokens; a missing or mis-sized embedding warns and the rest still encodes', async () => {
  const clip = ClipModel.fromCheckpoint(ckpt, { embeddings: new EmbeddingLibrary(folders) });
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const enc = async (text: string) => (await clip.encode(text, { warn }))[0]![0].data;
  const ref = await enc('a photo of cat');
  assert.deepEqual(await enc('a embedding:photo_of cat'), ref, 'two rows = "photo of"');
  assert.deepEqual(await enc('a embedding:legacy of cat'), ref, '.pt');
  assert.deepEqual(await enc('a embedding:sdxl of cat'), ref, 'SDXL file, clip_l part');
  assert.deepEqual(await enc('a embedding:sub/single of cat'), ref);
  assert.notDeepEqual(await enc('a cat'), ref);
  assert.equal(warnings.length, 0);
  assert.deepEqual(await enc('a embedding:missing photo of cat'), ref);
  assert.deepEqual(await enc('a photo embedding:wide of cat'), ref);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /embedding:missing ignored: no file "missing"/);
  assert.match(warnings[1]!, /embedding:wide ignored: .*wide\.safetensors: .*64 wide/);
  // Weighted: (embedding:x:1.5) weights its rows like the words it stands for.
  assert.deepEqual(await enc('a (embedding:photo_of:1.5) cat'), await enc('a (photo of:1.5) cat'));
});

/** A1111's .pt layout: {'string_to_param': {'*': tensor}, 'name': ...} in a torch zip (protocol-2 pickle). */
function a1111Pt(v: Float32Array): Buffer {
  const op: number[] = [0x80, 2];
  const str = (s: string) => { const b = Buffer.from(s); op.push(0x8c, b.length, ...b); };
  const int = (n: number) => { const b = Buffer.alloc(4); b.writeInt32LE(n); op.push(0x4a, ...b); };
  const glob = (m: string, n: string) => op.push(0x63, ...Buffer.from(`${m}\n${n}\n`));
  const tuple = (xs: number[]) => { op.push(0x28); xs.forEach(int); op.push(0x74); };
  op.push(0x7d); str('string_to_param'); op.push(0x7d); str('*');
  glob('torch._utils', '_rebuild_tensor_v2'); op.push(0x28);
  op.push(0x28); str('storage'); glob('torch', 'FloatStorage'); str('0'); str('cpu'); int(v.length); op.push(0x74, 0x51);
  int(0); tuple([1, v.length]); tuple([v.length, 1]); op.push(0x89); glob('collections', 'OrderedDict'); op.push(0x29, 0x52, 0x74, 0x52);
  op.push(0x73, 0x73); str('name'); str('legacy'); op.push(0x73, 0x2e);
  const members: Array<[string, Buffer]> = [['archive/data.pkl', Buffer.from(op)], ['archive/data/0', Buffer.from(v.buffer, v.byteOffset, v.byteLength)], ['archive/version', Buffer.from('3\n')]];
  const locals: Buffer[] = [], central: Buffer[] = [];
  let off = 0;
  for (const [name, data] of members) {
    const n = Buffer.from(name);
    const lh = Buffer.alloc(30); lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt32LE(data.length, 18); lh.writeUInt32LE(data.length, 22); lh.writeUInt16LE(n.length, 26);
    const ch = Buffer.alloc(46); ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt32LE(data.length, 20); ch.writeUInt32LE(data.length, 24); ch.writeUInt16LE(n.length, 28); ch.writeUInt32LE(off, 42);
    locals.push(lh, n, data); central.push(ch, n);
    off += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22); eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(members.length, 8); eocd.writeUInt16LE(members.length, 10); eocd.writeUInt32LE(cd.length, 12); eocd.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
