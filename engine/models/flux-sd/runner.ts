/**
 * The DiT of a FLUX MODEL (an SdModel of family 'flux') as a session in the ModelService, so the executor's
 * event loop stays free like it does for the UNet. The graph is engine/models/flux's, built per provider
 * variant (build.ts: float32 for the CPU, fp16 for GPU providers, same weights and LoRA); the feed preparation
 * (patchify, RoPE tables, sinusoids) mirrors FluxModel.run, which owns its session in this thread and so
 * cannot be used from a worker handle. Rows are run in groups ComfyUI would batch together: the same text
 * length (T5 conds of different lengths do not concat) and guidance present or disabled (FluxDisableGuidance).
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { ModelHandle, ModelService } from '../../runtime/service.ts';
import type { WireFeeds } from '../../runtime/wire.ts';
import type { CondEntry, ModelFn } from '../../sampling/cfg.ts';
import { isTensor, type Tensor } from '../../tensor/tensor.ts';
import { applyFlux, DEFAULT_FLUX_GUIDANCE, type FluxNet } from '../flux/apply.ts';
import { FLUX_TIME_DIM, FLUX_TIME_FACTOR, type FluxDims } from '../flux/config.ts';
import { patchify, unpatchify, type FluxQuant } from '../flux/model.ts';
import { patchGrid, positionIds, ropeTables } from '../flux/rope.ts';
import { sinusoidalEmbedding } from '../layers/sinusoidal.ts';
import type { UNetOptionsWithWeights, WeightsHook } from '../lora/patches.ts';
import { loraOnGgufError } from '../lora/loader.ts';
import type { SdModel } from '../sd/model.ts';
import { fluxQuantOf, fluxCacheDirOf } from './model.ts';
import { isGgufFile } from '../../io/gguf.ts';
import { gpuGraphs, once } from '../../runtime/variants.ts';
import { buildFluxVariant, fluxInfo, type FluxBuildInput } from './build.ts';

interface Loaded { handle: ModelHandle; dims: FluxDims }

const loaded = new WeakMap<ModelService, Map<string, Promise<Loaded>>>();

function checkRunnable(model: SdModel): void {
  const other = model.patches.filter((p) => p.kind !== 'lora');
  if (other.length > 0) {
    throw new WeftError(`model: weight patches (${other.map((p) => p.kind).join(', ')}) on a FLUX model are not supported yet; remove them from the FLUX branch`, { input: 'model', type: 'not_implemented' });
  }
  if (model.wrappers.length > 0) throw new WeftError('model: model wrappers (ControlNet, …) are not supported on FLUX yet', { input: 'model', type: 'not_implemented' });
}

/**
 * The weight source hook of the model's LoRA patches (LoraLoader): the same patches the UNet takes, whose
 * build step stacks every LoRA into one hook over the DiT's prefix; undefined without LoRA.
 */
function loraWeights(model: SdModel): WeightsHook | undefined {
  checkRunnable(model);
  let o: UNetOptionsWithWeights = { prefix: model.source.prefix };
  for (const p of model.patches) if (p.build) o = p.build(o);
  return o.weights;
}

/**
 * float32 bytes above which a FLUX model runs its block Linears in 8 bits on its own: the 12B models take
 * ~48 GB as float32, more than the machines Weft targets have; 8-bit weights take ~13 GB (bench/flux-memory.ts).
 */
export const FLUX_FLOAT32_LIMIT = 16e9;

/** 'q8' when the diffusion model would not fit as float32 (GGUF files keep the precision they were saved in). */
export function autoFluxQuant(file: string, prefix: string): FluxQuant | undefined {
  if (isGgufFile(file)) return undefined;
  const f = SafetensorsFile.open(file);
  try {
    let bytes = 0;
    for (const [name, t] of f.tensors) if (name.startsWith(prefix)) bytes += t.shape.reduce((a, b) => a * b, 1) * 4;
    return bytes > FLUX_FLOAT32_LIMIT ? 'q8' : undefined;
  } finally {
    f.close();
  }
}

/** The session of this FLUX model; `guidance` false builds the graph without guidance_in (guidance disabled). */
export function fluxSession(service: ModelService, model: SdModel, guidance: boolean): Promise<Loaded> {
  let byKey = loaded.get(service);
  if (!byKey) loaded.set(service, (byKey = new Map()));
  const quant: FluxQuant | undefined = fluxQuantOf(model) ?? autoFluxQuant(model.source.path, model.source.prefix);
  // LoRA patches change the weights: their keys (file identity @ strength) are part of the session's.
  const key = ['flux', model.source.path, model.source.prefix, quant ?? 'float', guidance ? 'g' : 'no-g', ...model.patches.map((x) => `${x.kind}:${x.key}`)].join('|');
  let p = byKey.get(key);
  if (!p) {
    p = (async () => {
      const lora = loraWeights(model);
      if (lora && isGgufFile(model.source.path)) throw loraOnGgufError(model.source.path);
      const input: FluxBuildInput = { path: model.source.path, quant, lora, guidance, cacheDir: fluxCacheDirOf(model) };
      const { dims, sizeBytes } = fluxInfo(input);
      // The service builds only the variant of the provider it tries (runtime/variants.ts), from the same weights.
      const handle = await service.load(key, { graph: once(() => buildFluxVariant(input, 'cpu')), graphByEp: gpuGraphs(() => buildFluxVariant(input, 'gpu')), sizeBytes });
      return { handle, dims };
    })();
    p.catch(() => byKey!.delete(key));
    byKey.set(key, p);
  }
  return p;
}

/** Per-row copies of `data` when it holds one row. */
function rows(data: Float32Array, B: number, width: number, what: string): Float32Array {
  if (data.length === B * width) return data;
  if (data.length === width) {
    const out = new Float32Array(B * width);
    for (let b = 0; b < B; b++) out.set(data, b * width);
    return out;
  }
  throw new WeftError(`FLUX: ${what} has ${data.length} values, expected ${width} per row for ${B} rows`, { input: what });
}

/** FluxNet over a worker session: the inputs FluxModel.run prepares, run through the handle. */
export function handleNet(s: Loaded, guidance: boolean): FluxNet {
  const d = s.dims;
  const emb = (vals: ArrayLike<number>, B: number) => {
    const out = new Float32Array(B * FLUX_TIME_DIM);
    for (let b = 0; b < B; b++) out.set(sinusoidalEmbedding(Math.fround(FLUX_TIME_FACTOR * Math.fround(vals[b]!)), FLUX_TIME_DIM), b * FLUX_TIME_DIM);
    return out;
  };
  const f32 = (dims: number[], data: Float32Array): WireFeeds[string] => ({ type: 'float32', dims, data });
  return {
    async run(x, timesteps, context, y, g) {
      const [B, C, H, W] = x.shape as [number, number, number, number];
      if (C !== d.inChannels) throw new WeftError(`FLUX: latent has ${C} channels, the model takes ${d.inChannels}`, { input: 'latent_image' });
      const L = context.shape[context.shape.length - 2]!;
      if (context.shape.at(-1) !== d.contextInDim) {
        throw new WeftError(`positive: text conditioning is ${context.shape.at(-1)} wide but this FLUX model expects ${d.contextInDim} (T5-XXL states): encode the prompt with a FLUX CLIP (DualCLIPLoader type flux)`, { input: 'positive' });
      }
      if (y.data.length / B !== d.vecInDim && y.data.length !== d.vecInDim) {
        throw new WeftError(`positive: pooled output is ${y.data.length / B} wide but this FLUX model expects ${d.vecInDim} (CLIP-L pooled)`, { input: 'positive' });
      }
      const { hLen, wLen } = patchGrid(H, W);
      const pe = ropeTables(positionIds(L, hLen, wLen), d.axesDim);
      const peDims = [pe.length, 1, pe.pairs, 1];
      const feeds: WireFeeds = {
        img: f32([B, hLen * wLen, C * 4], patchify(x.data, B, C, H, W)),
        txt: f32([B, L, d.contextInDim], rows(context.data, B, L * d.contextInDim, 'context')),
        t_emb: f32([B, FLUX_TIME_DIM], emb(timesteps, B)),
        y: f32([B, d.vecInDim], rows(y.data, B, d.vecInDim, 'pooled output')),
        pe_cos: f32(peDims, pe.cos),
        pe_sin: f32(peDims, pe.sin),
      };
      if (d.guidanceEmbed && guidance) feeds.g_emb = f32([B, FLUX_TIME_DIM], emb(g!, B));
      const out = (await s.handle.run(feeds)).out;
      if (!out) throw new WeftError('the FLUX session returned no "out" tensor');
      const Co = d.outPatch / 4;
      return { shape: [B, Co, H, W], data: unpatchify(out.data as Float32Array, B, Co, H, W) };
    },
  };
}

function pooledOf(e: CondEntry): Tensor {
  const p = e.extra?.y ?? e.extra?.pooled_output;
  if (isTensor(p)) return p;
  if (p instanceof Float32Array) return { shape: [1, p.length], data: p };
  throw new WeftError('positive: FLUX needs the CLIP-L pooled output with the conditioning: encode the prompt with a FLUX CLIP (DualCLIPLoader type flux, or the FLUX checkpoint\'s CLIP)', { input: 'positive' });
}

/** `guidance` of a row: a number, the 3.5 default when absent, null when FluxDisableGuidance removed it. */
function guidanceOf(e: CondEntry): number | null {
  const g = e.extra?.guidance;
  if (g === null) return null;
  return typeof g === 'number' ? g : DEFAULT_FLUX_GUIDANCE;
}

/** Row j takes batch item (row % B) % n of its tensor, as the UNet bridge gathers (n < B repeats). */
function stack(ts: readonly Tensor[], rowsOf: readonly number[], B: number, what: string): Tensor {
  const inner = ts[0]!.shape.slice(1);
  const per = inner.reduce((a, b) => a * b, 1);
  const data = new Float32Array(per * ts.length);
  ts.forEach((t, j) => {
    if (t.data.length % per !== 0 || t.shape.slice(1).reduce((a, b) => a * b, 1) !== per) {
      throw new WeftError(`positive: FLUX ${what} rows differ in shape ([${t.shape.join(', ')}] vs [${ts[0]!.shape.join(', ')}])`, { input: 'positive' });
    }
    const b = (rowsOf[j]! % B) % (t.data.length / per);
    data.set(t.data.subarray(b * per, (b + 1) * per), j * per);
  });
  return { shape: [ts.length, ...inner], data };
}

/** The sampling module's ModelFn for a FLUX MODEL: rows grouped as ComfyUI batches them, then applyFlux. */
export function fluxModelFnFor(model: SdModel, service: ModelService, latentShape: readonly number[]): ModelFn {
  checkRunnable(model);
  const ms = model.modelSampling;
  const B = latentShape[0]!;
  const distilled = model.detected.flux?.guidanceEmbed ?? false;
  return async (x, sigma, conds) => {
    const N = x.shape[0]!;
    const per = x.data.length / N;
    const groups = new Map<string, number[]>();
    conds.forEach((e, i) => {
      const k = `${e.context.shape.at(-2)}|${guidanceOf(e) === null ? 'off' : 'on'}`;
      groups.set(k, [...(groups.get(k) ?? []), i]);
    });
    const out = new Float32Array(x.data.length);
    for (const idx of groups.values()) {
      const withGuidance = guidanceOf(conds[idx[0]!]!) !== null;
      // schnell has no guidance_in: one graph serves both kinds of row.
      const s = await fluxSession(service, model, withGuidance || !distilled);
      const xs = new Float32Array(idx.length * per);
      idx.forEach((r, j) => xs.set(x.data.subarray(r * per, (r + 1) * per), j * per));
      const pick = idx.map((r) => conds[r]!);
      const ctx = stack(pick.map((e) => e.context), idx, B, 'text context');
      const y = stack(pick.map(pooledOf), idx, B, 'pooled output');
      const g = pick.map((e) => guidanceOf(e) ?? 0);
      const r = await applyFlux(ms, handleNet(s, withGuidance), { shape: [idx.length, ...x.shape.slice(1)], data: xs }, new Array<number>(idx.length).fill(sigma), ctx, y, g);
      idx.forEach((row, j) => out.set(r.denoised.subarray(j * per, (j + 1) * per), row * per));
    }
    return { shape: x.shape, data: out };
  };
}
