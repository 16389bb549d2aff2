import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { TorchFile, toSafetensors } from '../../../engine/io/torch-file.ts';
import { unpickle } from '../../../engine/io/pickle.ts';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-pt-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A tiny pickle writer producing the opcodes torch.save emits (protocol 2). */
class P {
  parts: number[] = [0x80, 2];
  op(...b: number[]): this { this.parts.push(...b); return this; }
  str(s: string): this { const b = Buffer.from(s); return this.op(0x8c, b.length, ...b); }
  int(n: number): this { const b = Buffer.alloc(4); b.writeInt32LE(n); return this.op(0x4a, ...b); }
  global(m: string, n: string): this { return this.op(0x63, ...Buffer.from(`${m}\n${n}\n`)); }
  stackGlobal(m: string, n: string): this { return this.str(m).str(n).op(0x93); }
  tuple(items: number[]): this { this.op(0x28); for (const i of items) this.int(i); return this.op(0x74); }
  bytes(): Buffer { return Buffer.from([...this.parts, 0x2e]); }
}

interface T { name: string; storage: string; type: string; numel: number; offset: number; shape: number[]; stride: number[] }
function statePickle(tensors: T[], wrap?: string): Buffer {
  const p = new P();
  if (wrap) p.op(0x7d).str(wrap);
  p.global('collections', 'OrderedDict').op(0x29, 0x52);
  for (const t of tensors) {
    p.str(t.name).global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    p.op(0x28).str('storage').global('torch', t.type).str(t.storage).str('cpu').int(t.numel).op(0x74, 0x51);
    p.int(t.offset).tuple(t.shape).tuple(t.stride).op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52).op(0x74, 0x52);
    p.op(0x73);
  }
  if (wrap) p.op(0x73);
  return p.bytes();
}

/** Zip writer (stored or deflated members, CRC left 0: the reader does not need it). */
function zip(members: Array<[string, Buffer, boolean?]>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let off = 0;
  for (const [name, data, deflate] of members) {
    const body = deflate ? deflateRawSync(data) : data;
    const n = Buffer.from(name);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(deflate ? 8 : 0, 8); lh.writeUInt32LE(body.length, 18); lh.writeUInt32LE(data.length, 22); lh.writeUInt16LE(n.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(deflate ? 8 : 0, 10); ch.writeUInt32LE(body.length, 20); ch.writeUInt32LE(data.length, 24); ch.writeUInt16LE(n.length, 28); ch.writeUInt32LE(off, 42);
    locals.push(lh, n, body);
    central.push(ch, n);
    off += 30 + n.length + body.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(members.length, 8); eocd.writeUInt16LE(members.length, 10); eocd.writeUInt32LE(cd.length, 12); eocd.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

const w = Float32Array.from([1, 2, 3, 4, 5, 6]);
const h = Uint16Array.from([0x3c00, 0x4000, 0xc200]); // 1, 2, -3 in half
function checkpoint(name: string, opts: { deflate?: boolean; wrap?: string } = {}): string {
  const pkl = statePickle([
    { name: 'conv.weight', storage: '0', type: 'FloatStorage', numel: 6, offset: 0, shape: [2, 3], stride: [3, 1] },
    { name: 'conv.weight_t', storage: '0', type: 'FloatStorage', numel: 6, offset: 0, shape: [3, 2], stride: [1, 3] },
    { name: 'bias', storage: '1', type: 'HalfStorage', numel: 3, offset: 1, shape: [2], stride: [1] },
  ], opts.wrap);
  const p = join(dir, name);
  writeFileSync(p, zip([['archive/data.pkl', pkl], ['archive/data/0', Buffer.from(w.buffer), opts.deflate], ['archive/data/1', Buffer.from(h.buffer)], ['archive/version', Buffer.from('3\n')]]));
  return p;
}

test('reads a torch zip checkpoint: shapes, strided views, fp16, Lightning state_dict wrapper, deflate', () => {
  for (const [file, opts] of [['a.pt', {}], ['b.ckpt', { wrap: 'state_dict' }], ['c.pth', { deflate: true }]] as const) {
    const f = TorchFile.open(checkpoint(file, opts));
    try {
      assert.deepEqual([...f.tensors.keys()], ['conv.weight', 'conv.weight_t', 'bias'], file);
      assert.deepEqual(f.get('conv.weight').shape, [2, 3]);
      assert.deepEqual([...f.readFloat32('conv.weight')], [1, 2, 3, 4, 5, 6]);
      assert.deepEqual([...f.readFloat32('conv.weight_t')], [1, 4, 2, 5, 3, 6], 'transposed view gathered');
      assert.equal(f.get('bias').dtype, 'F16');
      assert.deepEqual([...f.readFloat32('bias')], [2, -3], 'storage offset honoured');
    } finally {
      f.close();
    }
  }
});

test('toSafetensors writes a cached copy once, readable like any safetensors', () => {
  const src = checkpoint('up.pth');
  const cache = join(dir, 'cache');
  const out = toSafetensors(src, cache);
  const s = SafetensorsFile.open(out);
  try {
    assert.deepEqual([...s.readFloat32('conv.weight_t')], [1, 4, 2, 5, 3, 6]);
    assert.equal(s.get('bias').dtype, 'F16');
  } finally {
    s.close();
  }
  const before = readFileSync(out);
  assert.equal(toSafetensors(src, cache), out);
  assert.ok(readFileSync(out).equals(before));
});

test('malicious pickles are refused by name, nothing runs', () => {
  const viaGlobal = new P().global('os', 'system').str('touch /tmp/pwned').op(0x85, 0x52).bytes();
  assert.throws(() => unpickle(viaGlobal, { file: 'evil.pt' }), /evil\.pt: refusing to load: the pickle references "os\.system"/);
  const viaStack = new P().stackGlobal('builtins', 'eval').str('1+1').op(0x85, 0x52).bytes();
  assert.throws(() => unpickle(viaStack, { file: 'evil2.pt' }), /"builtins\.eval"/);
  const p = join(dir, 'evil.ckpt');
  writeFileSync(p, zip([['archive/data.pkl', new P().global('subprocess', 'Popen').op(0x29, 0x52).bytes()]]));
  assert.throws(() => TorchFile.open(p), /evil\.ckpt.*"subprocess\.Popen"/);
});

test('truncated and corrupt files fail clearly', () => {
  const good = readFileSync(checkpoint('t.pt'));
  const cut = join(dir, 'cut.pt');
  writeFileSync(cut, good.subarray(0, good.length - 30));
  assert.throws(() => TorchFile.open(cut), /cut\.pt: .*(end-of-central-directory|truncated|corrupt)/);
  const pkl = statePickle([{ name: 'x', storage: '0', type: 'FloatStorage', numel: 6, offset: 0, shape: [2, 3], stride: [3, 1] }]);
  assert.throws(() => unpickle(pkl.subarray(0, pkl.length - 10), { file: 'half.pkl' }), /half\.pkl: .*(truncated or corrupt)/);
  const big = join(dir, 'big.pt');
  writeFileSync(big, zip([['archive/data.pkl', statePickle([{ name: 'x', storage: '0', type: 'FloatStorage', numel: 99, offset: 0, shape: [9, 11], stride: [11, 1] }])], ['archive/data/0', Buffer.alloc(24)]]));
  assert.throws(() => TorchFile.open(big), /tensor "x" reaches past its storage/);
  const legacy = join(dir, 'legacy.pt');
  writeFileSync(legacy, Buffer.from([0x80, 2, 0x8a, 0x0a]));
  assert.throws(() => TorchFile.open(legacy), /legacy pre-1\.6 format/);
  assert.throws(() => unpickle(Buffer.from([0x80, 2, 0x68, 5, 0x2e]), { file: 'memo.pkl' }), /memo 5, never stored/);
});
