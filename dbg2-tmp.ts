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
