import { readFileSync } from 'node:fs';
import { readCaseTensors, parseCasesJson } from '/work/main/engine/conformance/runner.ts';
import { getSampler } from '/work/main/engine/sampling/samplers/index.ts';
const dir = '/work/shared/conformance';
const doc = parseCasesJson(readFileSync(dir + '/cases.json', 'utf8')) as any;
for (const c of doc.cases) {
  if (!c.aux?.denoised_at_step) continue; if (process.argv[2] && !c.name.includes(process.argv[2])) continue;
  const t = readCaseTensors(dir + '/' + c.file);
  const sig = t.get('aux.sigmas')!.data as Float32Array;
  const xs = t.get('aux.x_at_step')!.data as Float32Array;
  const ds = t.get('aux.denoised_at_step')!.data as Float32Array;
  const nd = t.get('aux.noise_draws')?.data as Float32Array | undefined;
  const exp = t.get('expected.samples')!.data as Float32Array;
  const n = exp.length;
  const scale = c.name.startsWith('sdxl') ? 0.13025 : c.name.startsWith('flux') ? 0 : 0.18215;
  let k = 0, q = 0; const stepErr: string[] = [];
  const model = { denoise: async () => ds.slice(n * k, n * ++k) };
  const noise = () => nd!.slice(n * q, n * ++q);
  try {
    const out = await getSampler(c.params.sampler)(model as any, c.params.sampler.startsWith("uni_pc") ? xs.slice(0, n).map((v) => v * Math.sqrt(1 + sig[0]! * sig[0]!)) : xs.slice(0, n), sig, { noiseSampler: noise, sdeNoiseSampler: noise, callback: (info) => { if (info.i + 1 >= sig.length - 1) return; let e = 0; for (let j = 0; j < n; j++) e = Math.max(e, Math.abs(info.x[j]! - xs[n * info.i + j]!)); stepErr.push(e.toExponential(1)); } });
    let err = 0, mx = 0;
    for (let i = 0; i < n; i++) {
      const e = scale ? exp[i]! * scale : (exp[i]! - 0.1159) * 0.3611;
      err = Math.max(err, Math.abs(out[i]! - e)); mx = Math.max(mx, Math.abs(e));
    }
    console.log(c.name, c.params.sampler, 'calls', k, 'steps', sig.length - 1, 'err', err.toExponential(2), 'max', mx.toFixed(3), stepErr.join(' '));
  } catch (e) { console.log(c.name, 'ERR', (e as Error).message); }
}
