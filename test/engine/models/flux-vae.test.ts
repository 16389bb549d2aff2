import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { Rng, TensorSink, vae } from '../../../engine/models/fixtures/sd.ts';
import { fluxLatentForSampling, fluxProcessIn, fluxProcessOut, openFluxAe } from '../../../engine/models/flux-vae/index.ts';
import { maxDiff, rand, tmpDir } from '../onnx/ref.ts';

const dir = tmpDir('fluxae');
const closers: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of closers) await c();
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeAe(name: string, z: number, quant: boolean): SafetensorsFile {
  const s = new TensorSink(new Rng(z * 7 + 1), 'F16');
  vae(s, '', 32, [1, 1], 1, z, quant);
  const p = path.join(dir, name);
  writeSafetensors(p, s.out);
  const f = SafetensorsFile.open(p);
  closers.push(() => f.close());
  return f;
}

test('latent format: process_in (x − 0.1159)·0.3611, process_out x/0.3611 + 0.1159, all-zero latents left alone', () => {
  const x = { shape: [1, 2, 1, 1], data: Float32Array.of(1, -2) };
  const inn = fluxProcessIn(x);
  assert.ok(Math.abs(inn.data[0]! - (1 - 0.1159) * 0.3611) < 1e-7);
  assert.ok(Math.abs(inn.data[1]! - (-2 - 0.1159) * 0.3611) < 1e-7);
  assert.ok(maxDiff(fluxProcessOut(inn).data, x.data) < 1e-6);
  assert.ok(Math.abs(fluxProcessOut({ shape: [1], data: Float32Array.of(0) }).data[0]! - 0.1159) < 1e-7);
  const zero = { shape: [1, 16, 2, 2], data: new Float32Array(64) };
  assert.equal(fluxLatentForSampling(zero), zero);
  const one = { shape: [1, 16, 2, 2], data: new Float32Array(64) };
  one.data[5] = 1;
  assert.ok(Math.abs(fluxLatentForSampling(one).data[0]! - -0.1159 * 0.3611) < 1e-7);
});

test('16-channel AE without quant convs: decode/encode shapes and the NHWC [0,1] image convention', async () => {
  const ae = openFluxAe(writeAe('ae.safetensors', 16, false), { threads: 1 });
  closers.push(() => ae.release());
  assert.equal(ae.spec.latentChannels, 16);
  assert.equal(ae.spec.hasQuantConv, false);
  const r = await ae.decode({ shape: [1, 16, 3, 4], data: rand(192, 4) });
  assert.deepEqual(r.decoded.shape, [1, 3, 6, 8]);
  assert.deepEqual(r.image.shape, [1, 6, 8, 3]);
  let worst = 0;
  for (let c = 0; c < 3; c++) for (let y = 0; y < 6; y++) for (let x = 0; x < 8; x++) {
    const raw = r.decoded.data[(c * 6 + y) * 8 + x]!;
    worst = Math.max(worst, Math.abs(r.image.data[(y * 8 + x) * 3 + c]! - Math.min(1, Math.max(0, (raw + 1) / 2))));
  }
  assert.ok(worst < 1e-7);
  // VAEEncode crops to multiples of 8 (12 → 8 wide) before encoding; this AE downsamples 2×.
  const e = await ae.encode({ shape: [1, 8, 12, 3], data: rand(288, 5).map((v) => (v + 1) / 2) });
  assert.deepEqual(e.mean.shape, [1, 16, 4, 4]);
  assert.deepEqual(e.logvar.shape, [1, 16, 4, 4]);
  await assert.rejects(ae.decode({ shape: [1, 4, 3, 4], data: new Float32Array(48) }), /16 channels/);
});

test('an SD VAE (4 channels) is refused with the file named', () => {
  const f = writeAe('sd-vae.safetensors', 4, true);
  assert.throws(() => openFluxAe(f), (e: Error) => e.message.includes('sd-vae.safetensors') && /4 latent channels; the FLUX AE has 16/.test(e.message));
});

const conf = path.resolve(import.meta.dirname, '../../../../shared/conformance');
const vec = path.join(conf, 'vectors/flux_vae_decode.safetensors');
test('conformance flux_vae_decode: tiny FLUX AE decode and encode match ComfyUI', { skip: !fs.existsSync(vec) }, async () => {
  const model = SafetensorsFile.open(path.join(conf, 'models/vae/tiny_flux_ae.safetensors'));
  const v = SafetensorsFile.open(vec);
  const ae = openFluxAe(model, { threads: 1 });
  closers.push(() => ae.release(), () => model.close(), () => v.close());
  const d = await ae.decode({ shape: [1, 16, 8, 8], data: v.readFloat32('input.latent') });
  assert.ok(maxDiff(d.decoded.data, v.readFloat32('expected.decoded_raw')) < 3e-4);
  assert.ok(maxDiff(d.image.data, v.readFloat32('expected.image_nhwc')) < 1e-4);
  const e = await ae.encode({ shape: [1, 64, 64, 3], data: v.readFloat32('input.image_nhwc') });
  assert.ok(maxDiff(e.mean.data, v.readFloat32('expected.encode_mean')) < 2e-4);
});
