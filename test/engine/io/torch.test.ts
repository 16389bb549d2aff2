import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TorchFile, toSafetensors } from '../../../engine/io/torch-file.ts';
import { unpickle } from '../../../engine/io/pickle.ts';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { OrderedDict, P, PtTensor, torchSave, zip, type PyValue } from '../../support/torch-save.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-pt-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

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

test('files shaped otherwise than a state dict: root is the unpickled object and adopt lists tensors found in it', () => {
  const p = join(dir, 'tree.pt');
  const sd = new OrderedDict([['w', new PtTensor(Float32Array.of(1, 2, 3, 4), [2, 2])]]);
  torchSave(p, new Map<PyValue, PyValue>([[768, [sd, sd]], ['name', 'x']]));
  const f = TorchFile.open(p);
  try {
    assert.equal(f.tensors.size, 0, 'nothing under string keys');
    const root = f.root as Map<unknown, unknown>;
    assert.deepEqual([...root.keys()], [768, 'name']);
    const inner = (root.get(768) as unknown[])[1] as Map<string, unknown>;
    assert.equal(f.adopt(inner.get('w'), '768.1.w')?.dtype, 'F32');
    assert.equal(f.adopt(root.get('name'), 'name'), null);
    assert.deepEqual([...f.readFloat32('768.1.w')], [1, 2, 3, 4]);
  } finally {
    f.close();
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
