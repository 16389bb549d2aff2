/**
 * GPU mode of the conformance runner: the model-call cases (raw CLIP towers, VAE decode, raw UNet calls;
 * FLUX DiT, T5 and AE in gpu-flux.ts) run with the graphs built for `ep: 'webgpu'` on the WebGPU execution
 * provider, fp32 or fp16 (T5 always float32: that is its GPU variant).
 *
 *   node --import tsx engine/conformance/gpu.ts <dir> --ep webgpu [--fp16] [--only prefix,…]
 *
 * fp32 is held to each case's own tolerance. fp16 cannot meet a 1e-4 rule against fp32 torch references,
 * so it uses FP16_TOLERANCE (printed at the start and on every line). Cases other than model calls
 * (samplers, schedules, tokenizers…) do not depend on the provider and are left to the CPU runner.
 * On a machine without a GPU, WebGPU runs on Mesa's lavapipe (research/onnx.md §8): correct, very slow.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../errors.ts';
import { SafetensorsFile } from '../io/safetensors.ts';
import type { runFloat } from '../onnx/index.ts';
import { FP16_TOLERANCE, type FloatDtype } from '../onnx/precision.ts';
import { buildClipTextGraph } from '../models/clip/graph.ts';
import { CLIP_PREFIXES, clipSpec } from '../models/clip/spec.ts';
import { buildVaeDecoder, vaeSpec } from '../models/vae/graph.ts';
import { buildUNet } from '../models/unet/graph.ts';
import { headsFromMetadata } from '../models/unet/config.ts';
import { compareTensor, parseCasesJson, readCaseTensors } from './runner.ts';
import type { CaseTensor, ConformanceCase } from './types.ts';
import { caseInput } from './inputs.ts';
import { probeWebGpu, runGraph, type Run } from './gpu-session.ts';
import { FLUX_GPU_CASES } from './gpu-flux.ts';

export { probeWebGpu, webgpuSession } from './gpu-session.ts';

async function clipTower(ckpt: string, prefix: string, ids: CaseTensor, dtype: FloatDtype, o: { layer: number; finalNorm: boolean; project: boolean }) {
  const file = SafetensorsFile.open(ckpt);
  try {
    const spec = clipSpec(file, prefix);
    const r = await runGraph(() => buildClipTextGraph(file, spec, { ...o, ep: 'webgpu' }).build(), dtype, {
      input_ids: { data: ids.data as BigInt64Array, dims: ids.shape }, extra_embeds: { data: new Float32Array(spec.width), dims: [1, spec.width] },
    });
    return { hidden: r.hidden!.data, pooled: r.pooled!.data };
  } finally {
    file.close();
  }
}

/** Same calls and outputs as handlers/clip.ts (raw towers), on the webgpu graph. */
const clipRaw: Run = async (c, m, model, dtype): Promise<Record<string, Float32Array>> => {
  const ckpt = model('checkpoint');
  if (c.name === 'clip_encoder_raw') {
    const ids = caseInput(m, c, 'token_ids');
    const last = await clipTower(ckpt, CLIP_PREFIXES.sd1, ids, dtype, { layer: -1, finalNorm: true, project: false });
    const pen = await clipTower(ckpt, CLIP_PREFIXES.sd1, ids, dtype, { layer: -2, finalNorm: true, project: false });
    return { last_hidden_state: last.hidden, penultimate_final_ln: pen.hidden, pooled_first_eos: last.pooled };
  }
  if (c.name === 'sd2v_clip_encoder_raw') {
    const ids = caseInput(m, c, 'token_ids');
    const pen = await clipTower(ckpt, CLIP_PREFIXES.sd2, ids, dtype, { layer: -2, finalNorm: true, project: true });
    const last = await clipTower(ckpt, CLIP_PREFIXES.sd2, ids, dtype, { layer: -1, finalNorm: true, project: false });
    return { penultimate_final_ln: pen.hidden, last_final_ln: last.hidden, pooled_projected: pen.pooled, pooled_unprojected: last.pooled };
  }
  const il = caseInput(m, c, 'token_ids_l'), ig = caseInput(m, c, 'token_ids_g');
  const lPen = await clipTower(ckpt, CLIP_PREFIXES.sdxl_l, il, dtype, { layer: -2, finalNorm: false, project: false });
  const lLast = await clipTower(ckpt, CLIP_PREFIXES.sdxl_l, il, dtype, { layer: -1, finalNorm: true, project: false });
  const gPen = await clipTower(ckpt, CLIP_PREFIXES.sdxl_g, ig, dtype, { layer: -2, finalNorm: false, project: true });
  const gLast = await clipTower(ckpt, CLIP_PREFIXES.sdxl_g, ig, dtype, { layer: -1, finalNorm: true, project: false });
  return {
    l_penultimate: lPen.hidden, l_last_final_ln: lLast.hidden, g_penultimate: gPen.hidden, g_last_final_ln: gLast.hidden,
    g_pooled_unprojected: gLast.pooled, g_pooled_projected: gPen.pooled,
  };
};

const vaeDecode: Run = async (c, m, model, dtype) => {
  const file = SafetensorsFile.open(model('checkpoint'));
  try {
    const spec = vaeSpec(file);
    const decode = (t: CaseTensor) => runGraph(() => buildVaeDecoder(file, spec, { ep: 'webgpu' }).build(), dtype, { latent: { data: t.data as Float32Array, dims: t.shape } });
    const r = await decode(caseInput(m, c, 'latent'));
    const got: Record<string, Float32Array> = { decoded_raw: r.decoded!.data, image_nhwc: r.image!.data };
    if (c.inputs.trajectory_samples) got.trajectory_image_nhwc = (await decode(caseInput(m, c, 'trajectory_samples'))).image!.data;
    return got;
  } finally {
    file.close();
  }
};

const unetRaw: Run = async (c, m, model, dtype) => {
  const file = SafetensorsFile.open(model('checkpoint'));
  try {
    const heads = typeof c.params.num_head_channels === 'number' ? { headChannels: c.params.num_head_channels } : headsFromMetadata(file.metadata);
    const feeds: Parameters<typeof runFloat>[1] = {};
    for (const k of ['x', 'timesteps', 'context', 'y']) if (c.inputs[k]) feeds[k] = { data: caseInput(m, c, k).data as Float32Array, dims: caseInput(m, c, k).shape };
    const r = await runGraph(() => buildUNet(file, { ...heads, ep: 'webgpu' }), dtype, feeds);
    return { [Object.keys(c.expected)[0]!]: r.out!.data };
  } finally {
    file.close();
  }
};

/** Model-call cases this mode covers, by name. */
export const GPU_CASES: GpuCase[] = [
  { topic: 'clip', match: /^(clip_encoder_raw|sd2v_clip_encoder_raw|sdxl_clip_encoder_raw)$/, run: clipRaw },
  { topic: 'vae', match: /^(vae_decode|sdxl_vae_decode|sd2v_vae_decode)/, run: vaeDecode },
  { topic: 'unet', match: /^(unet_eps_|unet_inpaint9ch_eps_|sdxl_unet_eps_|sd2v_unet_)/, run: unetRaw },
  ...FLUX_GPU_CASES,
];

/** `dtype`: the one the model's GPU variant always has (T5's is float32), held to the case's own tolerance. */
export interface GpuCase { topic: string; match: RegExp; run: Run; dtype?: FloatDtype }

export interface GpuRunOptions {
  fp16?: boolean;
  /** Case-name prefixes (as the CPU runner's --only). */
  only?: string[];
  /** Exact case names (tests pick single cases). */
  names?: string[];
  log?: (line: string) => void;
}
export interface GpuCaseResult { name: string; ok: boolean; err: number; tol: number; ms: number; error?: string }

const fmt = (x: number): string => (Number.isFinite(x) ? x.toExponential(3) : String(x));

export async function runGpuConformance(dirArg: string, opts: GpuRunOptions = {}): Promise<{ results: GpuCaseResult[]; skipped?: string }> {
  const log = opts.log ?? console.log;
  const dtype: FloatDtype = opts.fp16 ? 'float16' : 'float32';
  const probe = await probeWebGpu();
  if (!probe.ok) { log(`SKIP all GPU cases: ${probe.reason}`); return { results: [], skipped: probe.reason }; }
  const dir = resolve(dirArg);
  const doc = parseCasesJson(readFileSync(join(dir, 'cases.json'), 'utf8')) as { cases: ConformanceCase[] };
  log(`webgpu ${dtype}: tolerance ${opts.fp16 ? `fp16 abs ${FP16_TOLERANCE.abs} + ${FP16_TOLERANCE.rel_to_max}·max|exp|` : "each case's own"}`);
  const results: GpuCaseResult[] = [];
  for (const c of doc.cases) {
    const h = GPU_CASES.find((x) => x.match.test(c.name));
    if (!h || (opts.only?.length && !opts.only.some((p) => c.name.startsWith(p))) || (opts.names && !opts.names.includes(c.name))) continue;
    const runDtype = h.dtype ?? dtype;
    const tol = runDtype === 'float16' ? FP16_TOLERANCE : c.tolerance;
    const t0 = performance.now();
    const model = (role: string): string => resolve(dir, c.models?.[role] ?? '');
    try {
      const m = readCaseTensors(join(dir, c.file));
      const got = await h.run(c, m, model, runDtype);
      let worst = { ok: true, err: 0, tol: 0 }, ratio = -1;
      const bad: string[] = [];
      for (const [key, ref] of Object.entries(c.expected)) {
        const exp = m.get(ref.tensor);
        const cmp = exp && got[key] ? compareTensor(got[key]!, exp.data as Float32Array, tol) : { ok: false, err: Infinity, tol: 0, reason: `${key} missing` };
        if (!cmp.ok) bad.push(`${key} err=${fmt(cmp.err)} tol=${fmt(cmp.tol)}${cmp.reason ? ` ${cmp.reason}` : ''}`);
        const r = cmp.tol > 0 ? cmp.err / cmp.tol : Infinity;
        if (!(r <= ratio)) { ratio = r; worst = cmp; }
      }
      const ms = performance.now() - t0;
      results.push({ name: c.name, ok: bad.length === 0, err: worst.err, tol: worst.tol, ms });
      log(`${bad.length === 0 ? 'PASS' : 'FAIL'} ${c.name} [webgpu ${runDtype}] err=${fmt(worst.err)} tol=${fmt(worst.tol)} ${ms.toFixed(0)}ms${bad.length ? ` [${bad.join('; ')}]` : ''}`);
    } catch (e) {
      results.push({ name: c.name, ok: false, err: NaN, tol: NaN, ms: performance.now() - t0, error: errorMessage(e) });
      log(`FAIL ${c.name} [webgpu ${runDtype}] error: ${errorMessage(e).split('\n')[0]}`);
    }
  }
  log(`${results.filter((r) => r.ok).length} passed, ${results.filter((r) => !r.ok).length} failed (webgpu ${dtype})`);
  return { results };
}

/** CLI: `gpu.ts <dir> --ep webgpu [--fp16] [--only a,b]`; exit 0 when no case failed (a missing adapter skips). */
export async function gpuMain(argv: string[]): Promise<number> {
  let dir: string | undefined, ep = 'webgpu', fp16 = false;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--ep') ep = argv[++i] ?? '';
    else if (a === '--fp16') fp16 = true;
    else if (a === '--only') only.push(...(argv[++i] ?? '').split(',').filter(Boolean));
    else if (!dir) dir = a;
    else { console.error(`unexpected argument ${a}`); return 2; }
  }
  if (!dir || ep !== 'webgpu') { console.error('usage: gpu.ts <dir> --ep webgpu [--fp16] [--only prefix]'); return 2; }
  const r = await runGpuConformance(dir, { fp16, only });
  return r.results.every((x) => x.ok) ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  gpuMain(process.argv.slice(2)).then((code) => process.exit(code), (e) => { console.error(e); process.exit(2); });
}
