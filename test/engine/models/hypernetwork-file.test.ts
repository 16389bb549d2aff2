/**
 * Hypernetwork files: the layer sequence read from a .pt (ComfyUI's rules for activations and layer norms),
 * the module graph against a plain-TypeScript reference of the same math, the cached weights copy, and the
 * errors a broken or hostile file gives.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { f16ToF32, float32ToFloat16Array } from '../../../engine/io/dtypes.ts';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { GraphBuilder, createSession, runFloat } from '../../../engine/onnx/index.ts';
import { ACTIVATIONS, emitModule, hypernetworkWeights, readHypernetwork, type Activation } from '../../../engine/models/hypernetwork/index.ts';
import { biasOnly, mlp, t, writeHypernetwork, type Sd } from '../../support/hypernetwork.ts';
import { P, zip } from '../../support/torch-save.ts';
import { rand } from '../../support/tensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-hn-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cache = join(dir, 'cache');
let n = 0;
const file = (entries: Array<[number | string, Sd, Sd]>, settings: Parameters<typeof writeHypernetwork>[2] = {}, name = `hn${n++}.pt`): string => {
  const p = join(dir, name);
  writeHypernetwork(p, entries, settings);
  return p;
};
const kinds = (p: string, w: number): string[] => readHypernetwork(p).entries.get(w)![0].map((l) => (l.kind === 'activation' ? l.fn : l.kind));

test('layer sequence: activations between Linears, on the output only with activate_output; with layer norm "last" is judged by name position', () => {
  const two = mlp([8, 16, 8], 1);
  assert.deepEqual(kinds(file([[8, two, two]], { activation_func: 'relu' }), 8), ['linear', 'relu', 'linear']);
  assert.deepEqual(kinds(file([[8, two, two]], { activation_func: 'relu', activate_output: true }), 8), ['linear', 'relu', 'linear', 'relu']);
  assert.deepEqual(kinds(file([[8, two, two]], { activation_func: 'linear', activate_output: true }), 8), ['linear', 'linear']);
  assert.deepEqual(kinds(file([[8, two, two]], { activation_func: undefined }), 8), ['linear', 'linear'], 'no activation_func key: linear');
  const ln = mlp([8, 16, 8], 2, { layerNorm: true });
  // Names linear.0..3 alternate Linear, LayerNorm: the second Linear sits at position 2 of 4, so it is not "last".
  assert.deepEqual(kinds(file([[8, ln, ln]], { activation_func: 'tanh', is_layer_norm: true }), 8), ['linear', 'tanh', 'layernorm', 'linear', 'tanh', 'layernorm']);
  const hn = readHypernetwork(file([['8', two, two], [16, mlp([16, 16], 3), mlp([16, 16], 4)]], { activation_func: 'elu', use_dropout: true, last_layer_dropout: true }));
  assert.deepEqual([...hn.entries.keys()], [8, 16], 'int-like string keys are widths too; settings keys are not');
  assert.equal(hn.activation, 'elu');
});

// torch's definitions, in float64.
const ACT: Record<Activation, (x: number) => number> = {
  linear: (x) => x, relu: (x) => Math.max(0, x), leakyrelu: (x) => (x >= 0 ? x : 0.01 * x), elu: (x) => (x > 0 ? x : Math.expm1(x)),
  swish: (x) => x / (1 + Math.exp(-x)), tanh: Math.tanh, sigmoid: (x) => 1 / (1 + Math.exp(-x)), softsign: (x) => x / (1 + Math.abs(x)),
  mish: (x) => x * Math.tanh(x > 20 ? x : Math.log1p(Math.exp(x))),
};
const values = (sd: Sd, name: string): number[] => {
  const v = sd.find(([k]) => k === name)![1];
  return v.data instanceof Uint16Array ? Array.from(v.data, f16ToF32) : Array.from(v.data);
};
function refLinear(rows: number[][], sd: Sd, name: string): number[][] {
  const w = values(sd, `${name}.weight`), b = values(sd, `${name}.bias`);
  const inW = rows[0]!.length, out = b.length;
  return rows.map((r) => Array.from({ length: out }, (_, o) => b[o]! + r.reduce((s, x, i) => s + x * w[o * inW + i]!, 0)));
}
function refLayerNorm(rows: number[][], sd: Sd, name: string): number[][] {
  const w = values(sd, `${name}.weight`), b = values(sd, `${name}.bias`);
  return rows.map((r) => {
    const mean = r.reduce((a, x) => a + x, 0) / r.length;
    const variance = r.reduce((a, x) => a + (x - mean) ** 2, 0) / r.length;
    return r.map((x, i) => ((x - mean) / Math.sqrt(variance + 1e-5)) * w[i]! + b[i]!);
  });
}
/** The two-Linear module written out by hand (see the layer-sequence test for why LN implies the second activation). */
function reference(rows: number[][], sd: Sd, fn: Activation, ln: boolean, activateOutput: boolean): number[][] {
  const act = (m: number[][]): number[][] => m.map((r) => r.map(ACT[fn]));
  if (ln) return refLayerNorm(act(refLinear(refLayerNorm(act(refLinear(rows, sd, 'linear.0')), sd, 'linear.1'), sd, 'linear.2')), sd, 'linear.3');
  const h = refLinear(act(refLinear(rows, sd, 'linear.0')), sd, 'linear.1');
  return activateOutput ? act(h) : h;
}

test('module graphs match a TypeScript reference for every activation, with and without layer norm and output activation, fp32 and fp16 weights', async () => {
  const W = 6;
  const x = rand([2, 3, W], 7, 1.5);
  const rows = Array.from({ length: 6 }, (_, r) => Array.from(x.data.subarray(r * W, (r + 1) * W)));
  for (const [i, fn] of ACTIVATIONS.entries()) {
    const ln = i % 2 === 1, activateOutput = i % 3 === 0, half = i === 4 || i === 8;
    const half16 = (sd: Sd): Sd => sd.map(([k, v]) => [k, t(float32ToFloat16Array(v.data as Float32Array), v.shape)]);
    const k = mlp([W, 10, W], 100 + i, { layerNorm: ln }), v = mlp([W, 10, W], 200 + i, { layerNorm: ln });
    const [kk, vv] = half ? [half16(k), half16(v)] : [k, v];
    const hn = readHypernetwork(file([[W, kk, vv]], { activation_func: fn, is_layer_norm: ln, activate_output: activateOutput }));
    const weights = SafetensorsFile.open(hypernetworkWeights(hn, cache));
    const g = new GraphBuilder({ name: 'hn' });
    const xin = g.input('x', 'float32', [2, 3, W]);
    const [km, vm] = hn.entries.get(W)!;
    g.output(emitModule(g, weights, km, xin), 'k');
    g.output(emitModule(g, weights, vm, xin), 'v');
    weights.close();
    const { bytes, weightsDir } = g.build();
    const s = await createSession(bytes, weightsDir, { threads: 1 });
    const out = await runFloat(s, { x: { data: x.data, dims: x.shape } });
    await s.release();
    for (const [name, sd] of [['k', kk], ['v', vv]] as const) {
      const want = reference(rows, sd, fn, ln, activateOutput).flat();
      const got = out[name]!.data;
      const err = want.reduce((m, w, j) => Math.max(m, Math.abs(w - got[j]!)), 0);
      assert.ok(err < 2e-5, `${fn} ln=${ln} activate_output=${activateOutput} fp16=${half} ${name}: max error ${err}`);
    }
  }
});

test('the weights copy is written once per file identity and keeps fp16 tensors fp16', () => {
  const b = Float32Array.from({ length: 4 }, (_, i) => i - 1.5);
  const half: Sd = [['linear.0.weight', t(float32ToFloat16Array(new Float32Array(16)), [4, 4])], ['linear.0.bias', t(float32ToFloat16Array(b), [4])]];
  const p = file([[4, half, biasOnly(b)]]);
  const hn = readHypernetwork(p);
  const out = hypernetworkWeights(hn, cache);
  const before = statSync(out).mtimeMs;
  assert.equal(hypernetworkWeights(hn, cache), out);
  assert.equal(statSync(out).mtimeMs, before, 'reused, not rewritten');
  const f = SafetensorsFile.open(out);
  try {
    assert.equal(f.get('4.0.linear.0.bias').dtype, 'F16');
    assert.deepEqual([...f.readFloat32('4.0.linear.0.bias')], [...b]);
    assert.deepEqual([...f.readFloat32('4.1.linear.0.bias')], [...b]);
  } finally {
    f.close();
  }
});

test('broken and hostile files are refused with the file named', () => {
  const lin = mlp([8, 16, 8], 3);
  const refused = (p: string, re: RegExp): void => assert.throws(() => readHypernetwork(p), (e: Error) => e.message.includes(p) && re.test(e.message), `${p}: ${re}`);
  refused(file([[8, lin, lin]], { activation_func: 'gelu' }), /unsupported activation_func "gelu"/);
  refused(file([[8, lin, lin]], { activation_func: null }), /unsupported activation_func null/);
  refused(file([[8, lin.filter(([k]) => k !== 'linear.1.bias'), lin]]), /entry 8 k module: "linear\.1\.bias" is missing/);
  refused(file([[8, lin, [...mlp([8, 16], 4), ...mlp([12, 8], 5).map(([k, v]) => [k.replace('.0.', '.1.'), v] as [string, typeof v])]]]), /entry 8 v module: Linear "linear\.1" has weight \[8, 12\] but its input is 16 wide/);
  refused(file([[8, mlp([8, 16], 6), lin]]), /entry 8 k module outputs 16 values per token, not 8/);
  refused(file([[8, lin, lin]], { is_layer_norm: true }), /LayerNorm "linear\.1" has weight \[8, 16\]/);
  refused(file([[8, mlp([8, 8], 7), mlp([8, 8], 7)]], { is_layer_norm: true }), /no LayerNorm follows Linear "linear\.0"/);
  refused(file([['name', lin, lin]]), /no attention-width entries/);
  refused(join(dir, 'absent.pt'), /not found/);
  // A tensor whose storage member is gone, and a file cut short.
  const good = file([[8, lin, lin]]);
  const bytes = readFileSync(good);
  const cut = join(dir, 'cut.pt');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
  refused(cut, /end-of-central-directory|truncated|corrupt/);
  const pkl = join(dir, 'nostorage.pt');
  writeFileSync(pkl, zip([['archive/data.pkl', readPkl(good)]]));
  refused(pkl, /points at missing storage/);
  const evil = join(dir, 'evil.pt');
  writeFileSync(evil, zip([['archive/data.pkl', new P().global('os', 'system').str('touch /tmp/pwned').op(0x85, 0x52).bytes()]]));
  refused(evil, /refusing to load: the pickle references "os\.system"/);
});

/** The data.pkl member of a stored (not deflated) zip written by torchSave. */
function readPkl(zipPath: string): Buffer {
  const b = readFileSync(zipPath);
  const nameLen = b.readUInt16LE(26), size = b.readUInt32LE(18);
  return b.subarray(30 + nameLen, 30 + nameLen + size);
}
