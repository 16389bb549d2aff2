/**
 * ControlNets from file to UNet call. Loading recognises the LDM layout (v1.0/v1.1 `control_model.*`, bare
 * keys, SDXL copies with `label_emb`), merges diff ControlNets onto the model's UNet weights in a cache side
 * file (ComfyUI adds the model's weights to every `control_model.X` that has a `diffusion_model.X`), reads
 * diffusers-format files in place under the same names (diffusers.ts), loads Control-LoRAs as nets bound to
 * the sampled model at sampling time (control-lora.ts), and names the formats not supported yet. At sampling
 * time the control stage (a UNetWrapper the bridge puts outermost) groups the call's rows
 * by their conditioning's ControlApplication, runs each chain in the ModelService, and hands the summed
 * residuals to the UNet as `call.control`; rows without control get zeros.
 */
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { safetensorsPathFor } from '../../io/model-file.ts';
import type { ModelHandle, ModelService } from '../../runtime/service.ts';
import type { WireFeeds } from '../../runtime/wire.ts';
import type { CondEntry } from '../../sampling/cfg.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { asBuilderFile } from '../lora/bridge.ts';
import { fileIdentity, materialise, PatchedSource, sideFileName } from '../lora/cache.ts';
import type { Contribution } from '../lora/file.ts';
import type { Weighted } from '../lora/merge.ts';
import type { SdModel, UNetCall, UNetWrapper } from '../sd/model.ts';
import { buildControlNet } from './graph.ts';
import { isControlLora, loadControlLora, modelUNetWeights } from './control-lora.ts';
import { isDiffusersControlNet, loadDiffusersControlNet } from './diffusers.ts';
import { prepareHint } from './load.ts';
import { fillHoles, mergeResiduals, scatterRows, type Residuals } from '../t2i/residuals.ts';
import { isT2IAdapter, loadT2IAdapter, t2iResiduals } from '../t2i/load.ts';
import type { UNetCallControl } from '../sd/unet-runner.ts';
import { controlTypeVector } from './union.ts';
import { activeAt, controlChain, controlOf, type ControlApplication, type ControlNetModel } from './socket.ts';

export interface LoadOptions {
  /** Where PyTorch files are converted and diff merges are written. */
  cacheDir: string;
  /** DiffControlNetLoader's model: a diff ControlNet's weights are relative to this UNet. */
  model?: SdModel;
  warn?: (message: string) => void;
}

function unsupported(file: string, format: string, hint: string): never {
  throw new WeftError(`${file}: ${format} is not supported yet (${hint})`, { file, type: 'unsupported_model' });
}

/** The key prefix of an LDM ControlNet, or a WeftError naming the format the file is in. */
function ldmPrefix(f: SafetensorsFile, file: string): string {
  for (const p of ['control_model.', '']) if (f.has(`${p}input_hint_block.0.weight`) && f.has(`${p}zero_convs.0.0.weight`)) return p;
  const keys = f.keys();
  if (keys.some((k) => k.startsWith('controlnet_blocks.') || k.startsWith('controlnet_x_embedder.'))) unsupported(file, 'an SD3/Flux diffusers ControlNet', 'use a UNet (SD1/SD2/SDXL) ControlNet');
  throw new WeftError(`${file}: not a ControlNet (no input_hint_block / zero_convs tensors, with or without "control_model.")`, { file, type: 'invalid_model_file' });
}

/** Writes (or reuses) the side file with every `prefix*` tensor that has a UNet counterpart, summed with it. */
function mergeDiff(file: string, f: SafetensorsFile, prefix: string, model: SdModel, cacheDir: string): string {
  const unet = modelUNetWeights(model);
  try {
    const other = { path: model.source.path, file: asBuilderFile(unet.src), modules: new Map(), stray: [] };
    const parts = new Map<string, Weighted[]>();
    for (const key of f.keys()) {
      if (!key.startsWith(prefix) || key === 'difference') continue;
      const unetKey = model.source.prefix + key.slice(prefix.length);
      if (!unet.src.has(unetKey)) continue;
      // The LoRA merger's full-difference patch (w + 1·d) with the UNet tensor as the "difference".
      const c: Contribution = { lora: other, module: { name: unetKey, slots: { diff: unetKey } }, target: { key }, kind: 'diff', scale: 1 };
      parts.set(key, [{ c, strength: 1 }]);
    }
    if (parts.size === 0) throw new WeftError(`${file}: a diff ControlNet, but none of its tensors matches a UNet tensor of ${model.source.path}`, { file, input: 'model' });
    const scope = `controlnet-diff:${model.sessionKey}`;
    const dir = path.join(cacheDir, 'controlnet-diff');
    return materialise(f, parts, path.join(dir, sideFileName(f, scope, [{ path: model.source.path, strength: 1 }])), { base: file, scope, loras: '[]' }).path;
  } finally {
    unet.close();
  }
}

/** ComfyUI's ControlNetLoader / DiffControlNetLoader: the CONTROL_NET value (the session is built at first use). */
export function loadControlNetModel(file: string, o: LoadOptions): ControlNetModel {
  const st = safetensorsPathFor(file, o.cacheDir);
  const f = SafetensorsFile.open(st);
  try {
    // ComfyUI's load_controlnet checks this first and ignores DiffControlNetLoader's model: the net binds at sampling.
    if (isControlLora(f)) return loadControlLora(file, st, f, o);
    // diffusers layout (most SDXL ControlNets): read in place under control_model.* names (diffusers.ts).
    if (isDiffusersControlNet(f.keys())) return loadDiffusersControlNet(file, st, f.keys(), o.warn);
    if (isT2IAdapter(f.keys())) return loadT2IAdapter(file, st);
    const prefix = ldmPrefix(f, file);
    let side: string | undefined;
    if (f.has('difference')) {
      if (o.model) side = mergeDiff(file, f, prefix, o.model, o.cacheDir);
      else o.warn?.(`${path.basename(file)} is a diff ControlNet loaded without a model; it will very likely not work (use DiffControlNetLoader)`);
    }
    const stem = path.basename(file).replace(/\.[^.]+$/, '');
    return {
      kind: 'controlnet',
      path: file,
      prefix,
      key: ['controlnet', fileIdentity(st), side ? `diff:${o.model!.sessionKey}` : ''].join('|'),
      heads: side ? o.model!.source.heads : {},
      globalAveragePooling: /_shuffle(_fp16)?$/.test(stem),
      open() {
        const base = SafetensorsFile.open(st);
        if (!side) return base;
        return Object.assign(new PatchedSource(base, side), { close: () => base.close() });
      },
    };
  } finally {
    f.close();
  }
}

interface Loaded {
  handle: ModelHandle;
  outputs: string[];
  inChannels: number;
  admInChannels: number;
  contextDim: number;
  hintChannels: number;
  unionTypes: number;
}

const sessions = new WeakMap<ModelService, Map<string, Promise<Loaded>>>();

/** The ControlNet's session in the ModelService's workers (one per net and service; the graph is built once). */
export function controlNetSession(service: ModelService, net: ControlNetModel): Promise<Loaded> {
  let byKey = sessions.get(service);
  if (!byKey) sessions.set(service, (byKey = new Map()));
  let p = byKey.get(net.key);
  if (!p) {
    p = (async () => {
      const src = net.open();
      let built, size = 0;
      try {
        built = buildControlNet(asBuilderFile(src), { prefix: net.prefix, ...net.heads, union: net.union !== undefined });
        for (const t of src.tensors.values()) size += t.shape.reduce((a, b) => a * b, 1) * 4;
      } finally {
        src.close();
      }
      const handle = await service.load(net.key, { graph: built.bytes, weightsDir: built.weightsDir, sizeBytes: Math.max(size, 1 << 20) });
      const c = built.config;
      return { handle, outputs: built.outputs, inChannels: c.inChannels, admInChannels: c.admInChannels, contextDim: c.contextDim, hintChannels: built.hintChannels, unionTypes: built.unionTypes };
    })();
    p.catch(() => byKey!.delete(net.key));
    byKey.set(net.key, p);
  }
  return p;
}

const wire = (t: Tensor): WireFeeds[string] => ({ type: 'float32', dims: [...t.shape], data: t.data });

/** The first `c` channels of each row (an inpaint UNet's x carries the concat channels after the latent). */
function leadingChannels(x: Tensor, c: number, file: string): Tensor {
  const [N, C, h, w] = x.shape as [number, number, number, number];
  if (C === c) return x;
  if (C < c) throw new WeftError(`${file}: the ControlNet takes ${c} latent channels, the model samples ${C}`, { file, input: 'control_net' });
  const out = new Float32Array(N * c * h * w);
  for (let n = 0; n < N; n++) out.set(x.data.subarray(n * C * h * w, (n * C + c) * h * w), n * c * h * w);
  return { shape: [N, c, h, w], data: out };
}

const hints = new WeakMap<ControlApplication, Map<string, Tensor>>();

/** The hint at this call's size, cached per application like ComfyUI keeps its resized cond_hint. */
function hintFor(app: ControlApplication, B: number, h: number, w: number, groups: number, channels: number): Tensor {
  const C = app.image.shape[3];
  if (C !== channels) throw new WeftError(`image: the control image has ${C} channels, ${path.basename(app.net.path)} takes ${channels}`, { input: 'image' });
  let m = hints.get(app);
  if (!m) hints.set(app, (m = new Map()));
  const key = `${B}x${h}x${w}/${groups}`;
  let t = m.get(key);
  if (!t) {
    if (m.size > 4) m.clear(); // a handful of sizes per run (areas); never grow without bound
    m.set(key, (t = prepareHint(app.image, B, h, w, groups)));
  }
  return t;
}

/** Mean over H×W per channel, repeated back (ComfyUI's global_average_pooling for shuffle ControlNets). */
function averagePool(t: Tensor): Tensor {
  const [N, C, H, W] = t.shape as [number, number, number, number];
  const data = new Float32Array(t.data.length);
  const n = H * W;
  for (let p = 0; p < N * C; p++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += t.data[p * n + i]!;
    data.fill(Math.fround(s / n), p * n, (p + 1) * n);
  }
  return { shape: [...t.shape], data };
}

/** ComfyUI's get_control: the previous ControlNet first, this one only inside its sigma range, residuals summed. */
async function evaluate(app: ControlApplication, call: UNetCall, groups: number, service: ModelService): Promise<Residuals | undefined> {
  const prev = app.previous ? await evaluate(app.previous, call, groups, service) : undefined;
  if (!activeAt(app, call.sigmas[0]!, call.model.modelSampling)) return prev;
  if (app.net.t2i) return mergeResiduals(await t2iResiduals(app, call, groups, service), app.strength, prev);
  // A Control-LoRA is a ControlNet only on the model being sampled (ComfyUI's ControlLora.pre_run).
  const net = app.net.bind ? app.net.bind(call.model) : app.net;
  const s = await controlNetSession(service, net);
  const file = net.path;
  const [B, , h, w] = call.x.shape as [number, number, number, number];
  if (net.union && (call.context.shape[2] !== s.contextDim || call.y?.shape[1] !== s.admInChannels)) {
    throw new WeftError(`${file}: a ControlNet Union is an SDXL ControlNet; the sampled model is not SDXL (its conditioning does not fit)`, { file, input: 'control_net' });
  }
  if (call.context.shape[2] !== s.contextDim) {
    throw new WeftError(`${file}: the ControlNet takes text conditioning ${s.contextDim} wide, the model's is ${call.context.shape[2]}; it was made for another model family`, { file, input: 'control_net' });
  }
  const feeds: WireFeeds = {
    x: wire(leadingChannels(call.x, s.inChannels, file)),
    hint: wire(hintFor(app, B, h, w, groups, s.hintChannels)),
    timesteps: { type: 'float32', dims: [B], data: call.timesteps },
    context: wire(call.context),
  };
  if (s.admInChannels > 0) {
    if (!call.y || call.y.shape[1] !== s.admInChannels) throw new WeftError(`${file}: this ControlNet needs the SDXL pooled conditioning (y, ${s.admInChannels} wide); it does not fit this model`, { file, input: 'control_net' });
    feeds.y = wire(call.y);
  }
  if (s.unionTypes > 0) feeds.control_type = { type: 'float32', dims: [s.unionTypes], data: controlTypeVector(net.controlType, s.unionTypes) };
  const out = await s.handle.run(feeds);
  let res: Tensor[] = s.outputs.map((n) => ({ shape: out[n]!.dims, data: out[n]!.data as Float32Array }));
  if (net.globalAveragePooling) res = res.map(averagePool);
  return mergeResiduals(res, app.strength, prev);
}

/** The call restricted to `rows` (x, timesteps, sigmas, context, y and conds). */
function pickRows(call: UNetCall, rows: number[]): UNetCall {
  const take = (t: Tensor): Tensor => {
    const per = t.data.length / t.shape[0]!;
    const data = new Float32Array(rows.length * per);
    rows.forEach((r, i) => data.set(t.data.subarray(r * per, (r + 1) * per), i * per));
    return { shape: [rows.length, ...t.shape.slice(1)], data };
  };
  return {
    ...call, x: take(call.x), timesteps: Float32Array.from(rows, (r) => call.timesteps[r]!), sigmas: rows.map((r) => call.sigmas[r]!),
    context: take(call.context), y: call.y && take(call.y), conds: rows.map((r) => call.conds[r]!), control: undefined,
  };
}

/**
 * The sampling-time half: a UNetWrapper that evaluates each row's control chain. Rows sharing an application
 * run in one ControlNet call whose hint is broadcast over the entries batched together (ComfyUI's
 * batched_number); residuals land in their rows, zeros elsewhere, added to any control already on the call.
 */
export function controlStage(service: ModelService): UNetWrapper {
  return async (call, next) => {
    const groups = new Map<ControlApplication, number[]>();
    call.conds.forEach((e, i) => {
      const a = controlOf(e.extra);
      if (a) groups.set(a, [...(groups.get(a) ?? []), i]);
    });
    if (groups.size === 0) return next(call);
    const N = call.x.shape[0]!;
    let control: Residuals | undefined = call.control?.map((t) => ({ shape: [...t.shape], data: t.data.slice() }));
    let width = 0;
    for (const [app, rows] of groups) {
      const entries = new Set(rows.map((r) => call.conds[r]));
      const res = await evaluate(app, rows.length === N ? call : pickRows(call, rows), entries.size, service);
      if (!res) continue;
      // Lists of other lengths (a ControlNet's N+1 beside a T2I-Adapter's 2N+1) sum by slot; the UNet checks the count.
      width = Math.max(width, res.length);
      control = scatterRows(control, res, rows, N);
    }
    if (!control) return next(call);
    // A T2I-Adapter anywhere in a chain: the UNet's 'input' variant, absent slots as broadcast zeros (t2i/residuals.ts).
    const t2i = [...groups.keys()].some((a) => controlChain(a).some((c) => c.net.t2i));
    const out: UNetCall & UNetCallControl = { ...call, control: fillHoles(control, Math.max(width, control.length)), ...(t2i ? { controlLayout: 'input' as const } : {}) };
    return next(out);
  };
}

/**
 * ComfyUI's sampler step for `control_apply_to_uncond` (ControlNetApply, the old node): when no uncond entry
 * carries a control, each positive control (entries without an area) is handed to an uncond entry without
 * area, cycling; with none controlled the uncond is returned as is. Call it on the resolved lists before sampling.
 */
export function shareControlWithUncond(positive: readonly CondEntry[], negative: readonly CondEntry[]): CondEntry[] {
  const given = positive.filter((e) => !e.area && e.extra?.control_apply_to_uncond === true && controlOf(e.extra)).map((e) => e.extra!.control);
  const free = negative.map((e, i) => ({ e, i })).filter(({ e }) => !e.area);
  if (given.length === 0 || free.some(({ e }) => controlOf(e.extra))) return [...negative];
  const out = [...negative];
  if (free.length === 0) return out;
  given.forEach((control, x) => {
    const { e, i } = free[x % free.length]!;
    out[i] = { ...e, extra: { ...e.extra, control } };
  });
  return out;
}
