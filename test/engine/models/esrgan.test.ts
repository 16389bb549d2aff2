import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { describeUpscaler, UpscaleModel } from '../../../engine/models/esrgan/index.ts';
import { writeEsrgan, writeLora } from '../../../engine/models/fixtures/index.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { conv2dRef, maxDiff, rand, tmpDir } from '../onnx/ref.ts';

const dir = tmpDir('esrgan');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

type W = Record<string, { shape: number[]; data: Float32Array }>;
let seed = 11;
function conv(w: W, key: string, o: number, i: number, k = 3, bias = true): void {
  w[`${key}.weight`] = { shape: [o, i, k, k], data: rand(o * i * k * k, seed++, 1.5 / Math.sqrt(i * k * k)) };
  if (bias) w[`${key}.bias`] = { shape: [o], data: rand(o, seed++, 0.1) };
}

/** Real-ESRGAN-named RRDBNet weights. */
function rrdbWeights(o: { inCh?: number; nf?: number; gc?: number; nb?: number; ups?: number; plus?: boolean } = {}): W {
  const w: W = {};
  const nf = o.nf ?? 8, gc = o.gc ?? 4, nb = o.nb ?? 2;
  conv(w, 'conv_first', nf, o.inCh ?? 3);
  for (let b = 0; b < nb; b++) for (let r = 1; r <= 3; r++) {
    for (let c = 1; c <= 5; c++) conv(w, `body.${b}.rdb${r}.conv${c}`, c === 5 ? nf : gc, nf + (c - 1) * gc);
    if (o.plus) conv(w, `body.${b}.rdb${r}.conv1x1`, gc, nf, 1, false);
  }
  conv(w, 'conv_body', nf, nf);
  for (let u = 1; u <= (o.ups ?? 2); u++) conv(w, `conv_up${u}`, nf, nf);
  conv(w, 'conv_hr', nf, nf);
  conv(w, 'conv_last', 3, nf);
  return w;
}

/** The same weights under the original ESRGAN (model.N) or BSRGAN names, as spandrel maps them. */
function rename(w: W, layout: 'esrgan' | 'bsrgan'): W {
  const nb = Math.max(...Object.keys(w).filter((k) => k.startsWith('body.')).map((k) => Number(k.split('.')[1]))) + 1;
  const ups = Object.keys(w).filter((k) => /^conv_up\d\.weight$/.test(k)).length;
  const out: W = {};
  for (const [k, v] of Object.entries(w)) {
    let n = k;
    if (layout === 'bsrgan') {
      n = k.replace(/^body\.(\d+)\.rdb(\d)/, 'RRDB_trunk.$1.RDB$2').replace('conv_body', 'trunk_conv').replace(/^conv_up/, 'upconv').replace('conv_hr', 'HRconv');
    } else {
      n = k.replace(/^body\.(\d+)\.rdb(\d)\.conv(\d)\./, 'model.1.sub.$1.RDB$2.conv$3.0.').replace(/^body\.(\d+)\.rdb(\d)\.conv1x1/, 'model.1.sub.$1.RDB$2.conv1x1')
        .replace('conv_first', 'model.0').replace('conv_body', `model.1.sub.${nb}`).replace(/^conv_up(\d)/, (_, i) => `model.${Number(i) * 3}`)
        .replace('conv_hr', `model.${ups * 3 + 2}`).replace('conv_last', `model.${ups * 3 + 4}`);
    }
    out[n] = v;
  }
  return out;
}

function save(name: string, w: W): string {
  const file = path.join(dir, name);
  const t: Record<string, TensorToWrite> = {};
  for (const [k, v] of Object.entries(w)) t[k] = { dtype: 'F32', shape: v.shape, data: v.data };
  writeSafetensors(file, t);
  return file;
}

// ---- plain-TypeScript reference of the architectures (torch semantics) ----
function rconv(w: W, key: string, x: Tensor, pad = 1): Tensor {
  const wt = w[`${key}.weight`]!;
  const r = conv2dRef(x.data, [...x.shape], wt.data, wt.shape, w[`${key}.bias`]?.data ?? null, 1, [pad, pad, pad, pad]);
  return { shape: r.dims, data: r.y };
}
const map = (x: Tensor, f: (v: number, i: number) => number): Tensor => ({ shape: x.shape, data: x.data.map(f) });
const lrelu = (x: Tensor) => map(x, (v) => (v >= 0 ? v : 0.2 * v));
const add = (a: Tensor, b: Tensor, s = 1) => map(a, (v, i) => v + s * b.data[i]!);
function cat(ts: Tensor[]): Tensor {
  const [n, , h, w] = ts[0]!.shape as number[];
  assert.equal(n, 1);
  const c = ts.reduce((s, t) => s + t.shape[1]!, 0);
  const data = new Float32Array(c * h! * w!);
  let off = 0;
  for (const t of ts) { data.set(t.data, off); off += t.data.length; }
  return { shape: [1, c, h!, w!], data };
}
function nearest(x: Tensor, s: number): Tensor {
  const [n, c, h, w] = x.shape as number[];
  const out = new Float32Array(x.data.length * s * s);
  for (let p = 0; p < n! * c!; p++) for (let y = 0; y < h! * s; y++) for (let xx = 0; xx < w! * s; xx++) out[(p * h! * s + y) * w! * s + xx] = x.data[(p * h! + Math.floor(y / s)) * w! + Math.floor(xx / s)]!;
  return { shape: [n!, c!, h! * s, w! * s], data: out };
}
function unshuffle(x: Tensor, r: number): Tensor {
  const [, c, h, w] = x.shape as number[];
  const out = new Float32Array(x.data.length);
  const H = h! / r, Wd = w! / r;
  for (let ch = 0; ch < c!; ch++) for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) for (let y = 0; y < H; y++) for (let xx = 0; xx < Wd; xx++) {
    out[((ch * r * r + i * r + j) * H + y) * Wd + xx] = x.data[(ch * h! + y * r + i) * w! + xx * r + j]!;
  }
  return { shape: [1, c! * r * r, H, Wd], data: out };
}
const clamp = (x: Tensor) => map(x, (v) => Math.min(1, Math.max(0, v)));

function rrdbRef(w: W, x: Tensor, o: { nb: number; ups: number; plus?: boolean; shuffle?: number }): Tensor {
  let feat = rconv(w, 'conv_first', o.shuffle ? unshuffle(x, o.shuffle) : x);
  let body = feat;
  for (let b = 0; b < o.nb; b++) {
    let y = body;
    for (let r = 1; r <= 3; r++) {
      const p = `body.${b}.rdb${r}`;
      const xs = [y];
      for (let c = 1; c <= 4; c++) {
        let z = lrelu(rconv(w, `${p}.conv${c}`, cat(xs)));
        if (o.plus && c === 2) z = add(z, rconv(w, `${p}.conv1x1`, y, 0));
        if (o.plus && c === 4) z = add(z, xs[2]!);
        xs.push(z);
      }
      y = add(y, rconv(w, `${p}.conv5`, cat(xs)), 0.2);
    }
    body = add(body, y, 0.2);
  }
  feat = add(feat, rconv(w, 'conv_body', body));
  for (let u = 1; u <= o.ups; u++) feat = lrelu(rconv(w, `conv_up${u}`, nearest(feat, 2)));
  return clamp(rconv(w, 'conv_last', lrelu(rconv(w, 'conv_hr', feat))));
}

function image(c: number, h: number, w: number, s = 5): Tensor {
  return { shape: [1, c, h, w], data: rand(c * h * w, s).map((v) => 0.5 + 0.5 * v) };
}

test('Real-ESRGAN ×4 RRDBNet: shapes read from the file, output ×4 equals the reference forward', async () => {
  const w = rrdbWeights();
  const file = save('real_x4.safetensors', w);
  const m = UpscaleModel.open(file, { threads: 1 });
  assert.deepEqual({ ...m.arch, keys: undefined }, { arch: 'rrdbnet', layout: 'real-esrgan', inChannels: 3, outChannels: 3, numFeat: 8, numBlocks: 2, growth: 4, shuffle: 1, scale: 4, plus: false, keys: undefined });
  const x = image(3, 6, 5);
  const y = await m.run(x);
  assert.deepEqual(y.shape, [1, 3, 24, 20]);
  const ref = rrdbRef(w, x, { nb: 2, ups: 2 });
  assert.ok(maxDiff(y.data, ref.data) < 1e-4, `diff ${maxDiff(y.data, ref.data)}`);
  const inside = y.data.filter((v) => v > 0 && v < 1).length;
  assert.ok(inside > y.data.length / 4, `output mostly clamped (${inside} of ${y.data.length} inside (0,1))`);
  await m.release();
});

test('old ESRGAN and BSRGAN key layouts give identical outputs for identical weights; ESRGAN+ matches the reference', async () => {
  const w = rrdbWeights({ ups: 3 });
  const x = image(3, 4, 4, 9);
  const outs: Float32Array[] = [];
  for (const [name, ww] of [['real', w], ['old', rename(w, 'esrgan')], ['bsr', rename(w, 'bsrgan')]] as const) {
    const m = UpscaleModel.open(save(`${name}_x8.safetensors`, ww), { threads: 1 });
    assert.equal(m.scale, 8, name);
    assert.equal(m.arch.arch === 'rrdbnet' && m.arch.numBlocks, 2, name);
    outs.push((await m.run(x)).data);
    await m.release();
  }
  assert.deepEqual(outs[1], outs[0]);
  assert.deepEqual(outs[2], outs[0]);
  assert.ok(maxDiff(outs[0]!, rrdbRef(w, x, { nb: 2, ups: 3 }).data) < 1e-4);

  const wp = rrdbWeights({ plus: true, nb: 1 });
  const mp = UpscaleModel.open(save('plus.safetensors', rename(wp, 'esrgan')), { threads: 1 });
  assert.match(mp.name, /^ESRGAN\+ RRDBNet ×4/);
  assert.ok(maxDiff((await mp.run(x)).data, rrdbRef(wp, x, { nb: 1, ups: 2, plus: true }).data) < 1e-4);
  await mp.release();
});

test('Real-ESRGAN ×2 (pixel-unshuffle input): torch channel order, odd sizes padded and cropped', async () => {
  const w = rrdbWeights({ inCh: 12, nb: 1 });
  const m = UpscaleModel.open(save('real_x2.safetensors', w), { threads: 1 });
  assert.equal(m.scale, 2);
  assert.equal(m.inChannels, 3);
  const x = image(3, 8, 4, 3);
  const y = await m.run(x);
  assert.deepEqual(y.shape, [1, 3, 16, 8]);
  assert.ok(maxDiff(y.data, rrdbRef(w, x, { nb: 1, ups: 2, shuffle: 2 }).data) < 1e-4);
  const odd = await m.run(image(3, 7, 5, 4));
  assert.deepEqual(odd.shape, [1, 3, 14, 10]);
  await m.release();
});

test('SRVGGNetCompact: PReLU convs, pixel shuffle, plus the nearest-upsampled input', async () => {
  const w: W = {};
  conv(w, 'body.0', 8, 3);
  w['body.1.weight'] = { shape: [8], data: rand(8, 40, 0.3) };
  conv(w, 'body.2', 8, 8);
  w['body.3.weight'] = { shape: [8], data: rand(8, 41, 0.3) };
  conv(w, 'body.4', 3 * 4, 8);
  const m = UpscaleModel.open(save('compact.safetensors', w), { threads: 1 });
  assert.deepEqual([m.arch.arch, m.scale], ['srvgg', 2]);
  const x = image(3, 5, 4, 8);
  const prelu = (t: Tensor, key: string) => map(t, (v, i) => (v >= 0 ? v : v * w[key]!.data[Math.floor(i / (t.shape[2]! * t.shape[3]!)) % 8]!));
  let h = prelu(rconv(w, 'body.0', x), 'body.1.weight');
  h = prelu(rconv(w, 'body.2', h), 'body.3.weight');
  h = rconv(w, 'body.4', h);
  const shuffled = new Float32Array(3 * 10 * 8);
  for (let c = 0; c < 3; c++) for (let y = 0; y < 10; y++) for (let xx = 0; xx < 8; xx++) shuffled[(c * 10 + y) * 8 + xx] = h.data[((c * 4 + (y % 2) * 2 + (xx % 2)) * 5 + (y >> 1)) * 4 + (xx >> 1)]!;
  const ref = clamp(add({ shape: [1, 3, 10, 8], data: shuffled }, nearest(x, 2)));
  assert.ok(maxDiff((await m.run(x)).data, ref.data) < 1e-4);
  await m.release();
});

test('files that are not upscalers fail naming the file and what they look like', () => {
  const lora = path.join(dir, 'a_lora.safetensors');
  writeLora(lora);
  assert.throws(() => UpscaleModel.open(lora), (e: Error) => e.message.includes(lora) && /not a supported upscale model \(it looks like a .*lora\)/.test(e.message));
  const fixture = path.join(dir, 'fixture.safetensors');
  writeEsrgan(fixture);
  assert.equal(UpscaleModel.open(fixture).scale, 4, 'the shared fixture generator is recognised');
  assert.equal(describeUpscaler({ path: 'empty', tensors: new Map(), metadata: {}, readFloat32: () => new Float32Array() }), null);
  assert.throws(() => UpscaleModel.open(path.join(dir, 'missing.pth'), { cacheDir: dir }), /missing\.pth/);
});

test('a legacy (pre-zip) pickle .pth fails with the reader\'s explanation, not a safetensors parse error', () => {
  const legacy = path.join(dir, 'old_x4.pth');
  fs.writeFileSync(legacy, Buffer.from([0x80, 2, 0x8a, 0x0a, 0, 0, 0]));
  assert.throws(() => UpscaleModel.open(legacy, { cacheDir: dir }), /old_x4\.pth.*legacy/);
});
