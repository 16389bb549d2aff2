import { readCaseTensors, parseCasesJson } from './engine/conformance/runner.ts';
import { readFileSync } from 'node:fs';
import { unetFor } from './engine/conformance/handlers/unet.ts';
import { applyModel } from './engine/models/unet/apply.ts';
import { DiscreteModelSampling } from './engine/sampling/model-sampling.ts';
const dir = '/work/shared/conformance';
const doc = parseCasesJson(readFileSync(dir + '/cases.json', 'utf8')) as any;
const c = doc.cases.find((x: any) => x.name === 'sample_euler_normal');
const t = readCaseTensors(dir + '/' + c.file);
const ms = new DiscreteModelSampling();
const unet = await unetFor(dir + '/' + c.models.checkpoint);
const xs = t.get('aux.x_at_step')!.data as Float32Array, ds = t.get('aux.denoised_at_step')!.data as Float32Array, sig = t.get('aux.sigmas')!.data as Float32Array;
const cond = t.get('input.cond')!, unc = t.get('input.uncond')!;
const ctxT = { shape: [2, 77, 32], data: new Float32Array([...(cond.data as Float32Array), ...(unc.data as Float32Array)]) };
for (let i = 0; i < 8; i++) {
  const x = xs.slice(256 * i, 256 * (i + 1));
  const xx = { shape: [2, 4, 8, 8], data: new Float32Array([...x, ...x]) };
  const r = await applyModel(ms, unet, xx, [sig[i]!, sig[i]!], ctxT);
  const d = new Float32Array(256); for (let j = 0; j < 256; j++) d[j] = r.denoised[256 + j]! + (r.denoised[j]! - r.denoised[256 + j]!) * 7;
  let e = 0; for (let j = 0; j < 256; j++) e = Math.max(e, Math.abs(d[j]! - ds[256 * i + j]!));
  console.log(i, sig[i], Array.from(r.timesteps), 'err', e, 'nan', d.some(Number.isNaN));
}
// replay my own trajectory
import { ksample, LATENT_FORMATS } from './engine/sampling/ksample.ts';
let saved: Float32Array | null = null;
const model = async (x: any, sigma: number, rows: any[]) => {
  const context = { shape: [rows.length, 77, 32], data: new Float32Array(rows.flatMap((r) => Array.from(r.context.data as Float32Array))) };
  const r = await applyModel(ms, unet, x, new Array(rows.length).fill(sigma), context);
  if (r.denoised.some(Number.isNaN) && !saved) { saved = x.data.slice(); console.log('NaN at sigma', sigma, 'x has nan', x.data.some(Number.isNaN), 'raw nan', r.raw.some(Number.isNaN), x.shape); }
  return { shape: x.shape, data: r.denoised };
};
await ksample({ model, modelSampling: ms, latentFormat: LATENT_FORMATS.sd1, positive: [{ context: cond as any }], negative: [{ context: unc as any }], cfg: 7, latent: { shape: [1,4,8,8], data: new Float32Array(256) }, seed: 42n, sampler: 'euler', scheduler: 'normal', steps: 8 });
if (saved) for (let k = 0; k < 3; k++) { const r = await applyModel(ms, unet, { shape: [2,4,8,8], data: saved }, [1.276832103729248, 1.276832103729248], ctxT); console.log('retry nan', r.denoised.some(Number.isNaN)); }
const xr = xs.slice(256 * 4, 256 * 5);
let md = 0; for (let j = 0; j < 256; j++) md = Math.max(md, Math.abs(saved![j]! - xr[j]!));
console.log('my x vs recorded max diff', md);
const mixed = saved!.slice(); mixed.set(xr, 0); mixed.set(xr, 256);
const r2 = await applyModel(ms, unet, { shape: [2,4,8,8], data: mixed }, [1.276832103729248, 1.276832103729248], ctxT); console.log('recorded x nan', r2.raw.some(Number.isNaN));
// scaled input values
const sc = saved!.map((v) => v / Math.sqrt(1 + 1.276832103729248 ** 2)); console.log('scaled range', Math.min(...sc), Math.max(...sc));
const rr = await unet.run({ x: { shape: [2,4,8,8], data: sc }, timesteps: new Float32Array([428, 428]), context: ctxT });
console.log('direct raw nan count', rr.data.filter(Number.isNaN).length);
const rr2 = await unet.run({ x: { shape: [1,4,8,8], data: sc.slice(0,256) }, timesteps: new Float32Array([428]), context: { shape: [1,77,32], data: ctxT.data.slice(0, 77*32) } });
console.log('batch1 raw nan count', rr2.data.filter(Number.isNaN).length);
import { scaleInput } from './engine/models/unet/apply.ts';
const sc2 = scaleInput(ms, saved!, [1.276832103729248, 1.276832103729248]);
const rr3 = await unet.run({ x: { shape: [2,4,8,8], data: sc2 }, timesteps: new Float32Array([428, 428]), context: ctxT });
console.log('unet.run on scaleInput() x: NaN count', rr3.data.filter(Number.isNaN).length, 'batch row0 only:', (await unet.run({ x: { shape: [1,4,8,8], data: sc2.slice(0,256) }, timesteps: new Float32Array([428]), context: { shape: [1,77,32], data: ctxT.data.slice(0, 77*32) } })).data.filter(Number.isNaN).length);
import { writeFileSync } from 'node:fs'; writeFileSync('/tmp/nan_input.json', JSON.stringify({ x: Array.from(sc2), t: 428 }));
