/**
 * GPU mode of the conformance runner: the model-call cases (raw CLIP towers, VAE decode, raw UNet calls)
 * run with the graphs built for `ep: 'webgpu'` on the WebGPU execution provider, fp32 or fp16.
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
import * as ort from 'onnxruntime-node';
import { errorMessage } from '../errors.ts';
import { SafetensorsFile } from '../io/safetensors.ts';
import { GraphBuilder, runFloat, sessionOptions } from '../onnx/index.ts';
import { FP16_TOLERANCE, buildWithDtype, type FloatDtype } from '../onnx/precision.ts';
import { buildClipTextGraph } from '../models/clip/graph.ts';
import { CLIP_PREFIXES, clipSpec } from '../models/clip/spec.ts';
import { buildVaeDecoder, vaeSpec } from '../models/vae/graph.ts';
import { buildUNet } from '../models/unet/graph.ts';
import { headsFromMetadata } from '../models/unet/config.ts';
import { compareTensor, parseCasesJson, readCaseTensors } from './runner.ts';
import type { CaseTensor, ConformanceCase } from './types.ts';
import { caseInput } from './inputs.ts';

/** A WebGPU session; warnings off because ORT always warns that shape ops were placed on the CPU. */
export async function webgpuSession(bytes: Uint8Array, weightsDir: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { ...sessionOptions(weightsDir, { executionProviders: ['webgpu'], threads: 1 }), logSeverityLevel: 3 });
}

let probed: Promise<{ ok: true } | { ok: false; reason: string }> | undefined;

/** Whether this process can create and run a WebGPU session (needs a Vulkan/Metal/D3D12 adapter). */
export function probeWebGpu(): Promise<{ ok: true } | { ok: false; reason: string }> {
  probed ??= (async () => {
    if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu')) return { ok: false as const, reason: `this onnxruntime-node build has no webgpu provider` };
    try {
      const g = new GraphBuilder({ name: 'webgpu_probe', ep: 'webgpu' });
      g.output(g.op('Add', [g.input('x', 'float32', [4]), g.scalar(1)]), 'y', 'float32', [4]);
      const s = await webgpuSession(g.toBytes(), process.cwd());
      const r = await runFloat(s, { x: { data: Float32Array.of(1, 2, 3, 4), dims: [4] } });
      await s.release();
      if (r.y!.data[3] !== 5) return { ok: false as const, reason: `webgpu probe computed ${Array.from(r.y!.data).join(', ')} for x+1` };
      return { ok: true as const };
    } catch (e) {
      return { ok: false as const, reason: `webgpu session failed: ${errorMessage(e).split('\n')[0]}` };
    }
  })();
  return probed;
}

type Run = (c: ConformanceCase, m: Map<string, CaseTensor>, ckpt: string, dtype: FloatDtype) => Promise<Record<string, Float32Array>>;

/** Builds with `dtype`, opens on webgpu, runs once, releases (sessions are small; lavapipe caches shaders). */
async function runGraph(build: () => { bytes: Uint8Array; weightsDir: string }, dtype: FloatDtype, feeds: Parameters<typeof runFloat>[1]) {
  const { bytes, weightsDir } = buildWithDtype(dtype, build);
  const s = await webgpuSession(bytes, weightsDir);
  try {
    return await runFloat(s, feeds);
  } finally {
    await s.release();
  }
}

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
const clipRaw: Run = async (c, m, ckpt, dtype): Promise<Record<string, Float32Array>> => {
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

const vaeDecode: Run = async (c, m, ckpt, dtype) => {
  const file = SafetensorsFile.open(ckpt);
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

const unetRaw: Run = async (c, m, ckpt, dtype) => {
  const file = SafetensorsFile.open(ckpt);
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
export const GPU_CASES: Array<{ topic: string; match: RegExp; run: Run }> = [
  { topic: 'clip', match: /^(clip_encoder_raw|sd2v_clip_encoder_raw|sdxl_clip_encoder_raw)$/, run: clipRaw },
  { topic: 'vae', match: /^(vae_decode|sdxl_vae_decode|sd2v_vae_decode)/, run: vaeDecode },
  { topic: 'unet', match: /^(unet_eps_|unet_inpaint9ch_eps_|sdxl_unet_eps_|sd2v_unet_)/, run: unetRaw },
];

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
    const tol = opts.fp16 ? FP16_TOLERANCE : c.tolerance;
    const t0 = performance.now();
    try {
      const m = readCaseTensors(join(dir, c.file));
      const got = await h.run(c, m, resolve(dir, c.models?.checkpoint ?? ''), dtype);
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
      log(`${bad.length === 0 ? 'PASS' : 'FAIL'} ${c.name} [webgpu ${dtype}] err=${fmt(worst.err)} tol=${fmt(worst.tol)} ${ms.toFixed(0)}ms${bad.length ? ` [${bad.join('; ')}]` : ''}`);
    } catch (e) {
      results.push({ name: c.name, ok: false, err: NaN, tol: NaN, ms: performance.now() - t0, error: errorMessage(e) });
      log(`FAIL ${c.name} [webgpu ${dtype}] error: ${errorMessage(e).split('\n')[0]}`);
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
