/**
 * 8/4-bit T5: the block Linears as MatMulNBits over an ensureQuantized side file, through T5Encoder (real
 * ORT sessions on tiny generated weights), the side file reused on a second open, and FLUX's CLIP loader
 * choosing 8-bit for an fp8 T5 file or a float32 size over the threshold.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { f8e4m3ToF32, SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { tinyT5Tensors, writeTinyClipL, type TinyT5Config } from '../../../engine/models/flux-sd/synthetic.ts';
import { chooseT5Quant, releaseFluxEncoders } from '../../../engine/models/flux-sd/clip.ts';
import { loadFluxClip } from '../../../engine/models/flux-sd/load.ts';
import { T5Encoder, type T5EncoderOptions } from '../../../engine/models/t5/encoder.ts';
import { QUANT_PRESETS } from '../../../engine/models/flux/model.ts';
import { dequantizeMatrix, quantizeMatrix } from '../../../engine/models/quant/nbits.ts';
import { buildT5EncoderGraph, t5QuantKeys } from '../../../engine/models/t5/graph.ts';
import { t5Spec } from '../../../engine/models/t5/spec.ts';
import { tmpDir } from '../onnx/ref.ts';

const dir = tmpDir('t5-quant');
after(async () => {
  await releaseFluxEncoders();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Widths give wo (K = 160) three 64-blocks, the last one padded, and q/k/v/wi one full block each.
const CFG: TinyT5Config = { d: 64, heads: 4, dkv: 16, ff: 160, layers: 2, vocab: 256, seed: 9 };
const IDS = [5, 17, 200, 3, 99, 1, 0, 0, 0, 0, 0, 0];

/**
 * Stated tolerances: RMS of (quantized − float) over RMS of float, on the final hidden states. Measured on
 * these random weights: q8 1.1%, q4 16% (random untrained nets amplify weight noise through 14 Linears; the
 * exact check is the dequantized-weights test below, which isolates MatMulNBits from the rounding itself).
 */
const TOL = { q8: 0.02, q4: 0.25 };

function relErr(a: Float32Array, ref: Float32Array): number {
  let d = 0, r = 0;
  for (let i = 0; i < ref.length; i++) { d += (a[i]! - ref[i]!) ** 2; r += ref[i]! ** 2; }
  return Math.sqrt(d / r);
}

/** Nearest float8 e4m3fn code of every value (0x7f / 0xff are NaN in e4m3fn and never chosen). */
function toF8e4m3(v: Float32Array): Uint8Array {
  const codes = [...Array(256).keys()].filter((c) => (c & 0x7f) !== 0x7f);
  const vals = codes.map((c) => f8e4m3ToF32(c));
  return Uint8Array.from(v, (x) => {
    let best = 0;
    for (let i = 1; i < codes.length; i++) if (Math.abs(vals[i]! - x) < Math.abs(vals[best]! - x)) best = i;
    return codes[best]!;
  });
}

async function encodeWith(file: SafetensorsFile, o: T5EncoderOptions): Promise<{ out: Float32Array; enc: T5Encoder }> {
  const enc = T5Encoder.open(file, '', { models: null, ...o });
  const out = (await enc.encode(IDS)).data as Float32Array;
  await enc.release();
  return { out, enc };
}

const f32Path = path.join(dir, 't5_tiny_f32.safetensors');
writeSafetensors(f32Path, tinyT5Tensors(CFG));

test('quantized T5 encoder: q8 within 2% and q4 within 25% (RMS) of the float graph; only the block Linears are quantized', async () => {
  const file = SafetensorsFile.open(f32Path);
  try {
    const spec = t5Spec(file);
    const ref = (await encodeWith(file, {})).out;
    const q8 = await encodeWith(file, { quant: 'q8', cacheDir: path.join(dir, 'cache-a') });
    const q4 = await encodeWith(file, { quant: 'q4', cacheDir: path.join(dir, 'cache-a') });
    assert.equal(q8.out.length, IDS.length * CFG.d);
    const e8 = relErr(q8.out, ref), e4 = relErr(q4.out, ref);
    assert.ok(e8 < TOL.q8, `q8 relative error ${e8}`);
    assert.ok(e4 < TOL.q4, `q4 relative error ${e4}`);
    // Quantization really happened (outputs move) and 4-bit moves them further than 8-bit.
    assert.ok(e8 > 1e-6, `q8 output identical to float (${e8}): the quantized path was not taken`);
    assert.ok(e4 > e8, `q4 error ${e4} not above q8 error ${e8}`);
    // The side file holds exactly the 7 Linears per block; embedding, norms and bias table stay in the source.
    const keys = t5QuantKeys(spec);
    assert.equal(keys.length, CFG.layers * 7);
    const side = q8.enc.quantInfo!.file;
    assert.deepEqual([...side.tensors.keys()].filter((k) => k.endsWith('::q')).sort(), keys.map((k) => `${k}::q`).sort());
    assert.ok(!side.has('shared.weight::q') && !side.has('encoder.final_layer_norm.weight::q'));
    // NodeProto.op_type is field 4 (tag 0x22) + length 11 + "MatMulNBits": count nodes, not names.
    const opTypes = (bytes: Uint8Array): number => Buffer.from(bytes).toString('latin1').split('\x22\x0bMatMulNBits').length - 1;
    assert.equal(opTypes(buildT5EncoderGraph(file, spec, { quant: { file: side, bits: 8, blockSize: 64 } }).build().bytes), keys.length, 'one MatMulNBits per block Linear');
    assert.equal(opTypes(buildT5EncoderGraph(file, spec).build().bytes), 0);
  } finally {
    file.close();
  }
});

test('quantized T5 encoder equals the float graph over the dequantized weights (MatMulNBits layout is exact)', async () => {
  const src = tinyT5Tensors(CFG);
  const file = SafetensorsFile.open(f32Path);
  const keys = new Set(t5QuantKeys(t5Spec(file)));
  for (const s of [QUANT_PRESETS.q8, QUANT_PRESETS.q4]) {
    const dq: Record<string, TensorToWrite> = {};
    for (const [k, t] of Object.entries(src)) {
      const [N, K] = t.shape as [number, number];
      dq[k] = keys.has(k) ? { dtype: 'F32', shape: t.shape, data: dequantizeMatrix(quantizeMatrix(t.data as Float32Array, N, K, s)) } : t;
    }
    const dqPath = path.join(dir, `t5_tiny_dq${s.bits}.safetensors`);
    writeSafetensors(dqPath, dq);
    const dqFile = SafetensorsFile.open(dqPath);
    try {
      const q = (await encodeWith(file, { quant: s, cacheDir: path.join(dir, 'cache-dq') })).out;
      const ref = (await encodeWith(dqFile, {})).out;
      assert.ok(relErr(q, ref) < 1e-5, `${s.bits}-bit vs dequantized float: ${relErr(q, ref)}`);
    } finally {
      dqFile.close();
    }
  }
  file.close();
});

test('quantized T5 encoder: the side file is written once and reused by the next open, same outputs', async () => {
  const cacheDir = path.join(dir, 'cache-b');
  const file = SafetensorsFile.open(f32Path);
  try {
    const first = await encodeWith(file, { quant: 'q8', cacheDir });
    assert.equal(first.enc.quantInfo!.written, true);
    const p = first.enc.quantInfo!.file.path;
    const mtime = fs.statSync(p).mtimeMs;
    const second = await encodeWith(file, { quant: 'q8', cacheDir });
    assert.equal(second.enc.quantInfo!.written, false, 'second open re-quantized');
    assert.equal(second.enc.quantInfo!.file.path, p);
    assert.equal(second.enc.quantInfo!.ms, 0);
    assert.deepEqual(fs.readdirSync(cacheDir), [path.basename(p)]);
    assert.ok(fs.statSync(p).size > 0 && fs.statSync(p).mtimeMs >= mtime);
    assert.deepEqual(second.out, first.out);
    // A different setting is a different side file, not a reuse.
    const q4 = await encodeWith(file, { quant: 'q4', cacheDir });
    assert.equal(q4.enc.quantInfo!.written, true);
    assert.equal(fs.readdirSync(cacheDir).length, 2);
  } finally {
    file.close();
  }
});

test('FLUX CLIP: an fp8 (F8_E4M3) T5 file runs 8-bit with a notice; a small float32 file stays float', async () => {
  const fp8Path = path.join(dir, 't5xxl_fp8_e4m3fn.safetensors');
  const tensors: Record<string, TensorToWrite> = {};
  // ComfyUI's fp8 T5 stores the block Linears as fp8; the token table and norms are kept wider.
  const src = SafetensorsFile.open(f32Path);
  const fp8Keys = new Set(t5QuantKeys(t5Spec(src)));
  src.close();
  for (const [k, t] of Object.entries(tinyT5Tensors(CFG))) {
    tensors[k] = fp8Keys.has(k) ? { dtype: 'F8_E4M3', shape: t.shape, data: toF8e4m3(t.data as Float32Array) } : t;
  }
  writeSafetensors(fp8Path, tensors);
  const clipL = path.join(dir, 'clip_l.safetensors');
  writeTinyClipL(clipL);
  const cacheDir = path.join(dir, 'cache-c');

  const notices: string[] = [];
  const clip = loadFluxClip([clipL, fp8Path], { cacheDir, warn: (m) => notices.push(m) });
  assert.equal(clip.t5.quant, 'q8');
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /8-bit weights .*fp8 \(F8_E4M3\)/);
  assert.ok(notices[0]!.includes(path.join(cacheDir, 't5-quant')), notices[0]);
  const q8 = (await clip.t5.encoder.encode(IDS)).data as Float32Array;
  assert.equal(clip.t5.encoder.quantInfo?.written, true);
  assert.equal(clip.t5.encoder.quantInfo!.file.path.startsWith(path.join(cacheDir, 't5-quant')), true);

  // Against the float graph over the same fp8 file (fp8 Cast to float32): q8 of fp8 values is near-lossless.
  const f = SafetensorsFile.open(fp8Path);
  try {
    const ref = (await encodeWith(f, {})).out;
    const e = relErr(q8, ref);
    assert.ok(e < TOL.q8 && e > 0, `fp8 T5, q8 vs float relative error ${e}`);
  } finally {
    f.close();
  }

  const quiet: string[] = [];
  const plain = loadFluxClip([f32Path, clipL], { cacheDir, warn: (m) => quiet.push(m) });
  assert.equal(plain.t5.quant, undefined);
  assert.deepEqual(quiet, []);
  await clip.release();
  await plain.release();
});

test('chooseT5Quant: float32 size over the threshold quantizes on the CPU only; off and explicit settings win', () => {
  const file = SafetensorsFile.open(f32Path);
  try {
    const bytes = [...file.tensors.values()].reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1) * 4, 0);
    assert.deepEqual(chooseT5Quant(file, '', { t5QuantAboveBytes: bytes }), {}, 'exactly at the limit stays float');
    const over = chooseT5Quant(file, '', { t5QuantAboveBytes: bytes - 1 });
    assert.equal(over.quant, 'q8');
    assert.match(over.reason!, /float32 weights would take .* on the CPU/);
    assert.equal(chooseT5Quant(file, '', { t5QuantAboveBytes: bytes - 1, ep: 'cpu' }).quant, 'q8');
    assert.deepEqual(chooseT5Quant(file, '', { t5QuantAboveBytes: bytes - 1, ep: 'cuda' }), {});
    assert.deepEqual(chooseT5Quant(file, '', { t5QuantAboveBytes: 0, t5Quant: 'off' }), {});
    assert.equal(chooseT5Quant(file, '', { t5Quant: 'q4' }).quant, 'q4');
  } finally {
    file.close();
  }
});
