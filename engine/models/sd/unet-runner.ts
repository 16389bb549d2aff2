/**
 * The UNet of an SdModel as a session in the ModelService (a worker thread): the graph is built here once
 * per session key (weights stay in the user's file, mapped by ORT) and every call crosses the worker
 * boundary as transferable buffers, so the executor's event loop stays free while the network runs.
 */
import { WeftError } from '../../errors.ts';
import type { ModelHandle, ModelService } from '../../runtime/service.ts';
import type { WireFeeds } from '../../runtime/wire.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { buildUNet, type BuildUNetOptions, type BuiltUNet } from '../unet/graph.ts';
import { buildVariant, gpuGraphs, once, type GraphVariant } from '../../runtime/variants.ts';
import { openUNetWeights, type SdModel, type UNetCall } from './model.ts';
import { asBuilderFile } from '../lora/bridge.ts';

interface Loaded {
  handle: ModelHandle;
  controlInputs: string[];
  inChannels: number;
  admInChannels: number;
}

/**
 * Extra graph inputs a wrapper adds to one call (IP-Adapter image tokens and per-layer weights), by input
 * name. Carried beside UNetCall so model.ts stays untouched; other wrappers' `{...call}` spreads keep it.
 */
export interface UNetCallFeeds {
  feeds?: Record<string, Tensor>;
}

/** `call` plus `feeds` (merged over any a previous wrapper added). */
export function withFeeds(call: UNetCall, feeds: Record<string, Tensor>): UNetCall {
  const prev = (call as UNetCall & UNetCallFeeds).feeds;
  const c: UNetCall & UNetCallFeeds = { ...call, feeds: { ...prev, ...feeds } };
  return c;
}

/**
 * Set by the control stage when `call.control` carries T2I-Adapter residuals: then it is laid out as
 * [control_0…, control_middle, control_input_0…] (absent ones [1,1,1,1] zeros) for the 'input' variant.
 */
export interface UNetCallControl {
  controlLayout?: 'input';
}

const loaded = new WeakMap<ModelService, Map<string, Promise<Loaded>>>();

function buildOptions(model: SdModel, withControl: boolean | 'input'): BuildUNetOptions {
  let o: BuildUNetOptions = { prefix: model.source.prefix, ...model.source.heads, withControl };
  for (const p of model.patches) if (p.build) o = p.build(o);
  return o;
}

/**
 * The UNet graph of one variant: 'cpu' (float32, CPU op choices) or 'gpu' (fp16 with GPU op choices; the
 * timestep embedding stays float32 inside, see unet/blocks.ts).
 */
export function buildUNetVariant(model: SdModel, withControl: boolean | 'input', variant: GraphVariant): BuiltUNet {
  return buildVariant(variant, (ep) => {
    const file = openUNetWeights(model.source);
    try {
      return buildUNet(asBuilderFile(file), { ...buildOptions(model, withControl), ep });
    } finally {
      file.close();
    }
  });
}

/** The loaded UNet session for this model (with ControlNet residual inputs when `withControl`). */
export function unetSession(service: ModelService, model: SdModel, withControl: boolean | 'input' = false): Promise<Loaded> {
  let byKey = loaded.get(service);
  if (!byKey) loaded.set(service, (byKey = new Map()));
  const key = `${model.sessionKey}${withControl === 'input' ? '|control+input' : withControl ? '|control' : ''}`;
  let p = byKey.get(key);
  if (!p) {
    p = (async () => {
      // The service builds only the variant of the provider it tries (runtime/variants.ts).
      const cpu = once(() => buildUNetVariant(model, withControl, 'cpu'));
      let gpuBuilt: BuiltUNet | undefined;
      const gpu = () => (gpuBuilt ??= buildUNetVariant(model, withControl, 'gpu'));
      const handle = await service.load(key, { graph: cpu, graphByEp: gpuGraphs(gpu), sizeBytes: estimateBytes(model) });
      // Inputs and channels are the same in both variants; take them from the one built (or build the CPU one).
      const built = gpuBuilt ?? cpu();
      return { handle, controlInputs: built.controlInputs, inChannels: built.config.inChannels, admInChannels: built.config.admInChannels };
    })();
    p.catch(() => byKey!.delete(key));
    byKey.set(key, p);
  }
  return p;
}

/** Mapped weights count against the budget like loaded ones (ORT keeps what it touches resident). */
function estimateBytes(model: SdModel): number {
  const f = openUNetWeights(model.source);
  try {
    let n = 0;
    for (const [name, t] of f.tensors) if (name.startsWith(model.source.prefix)) n += t.shape.reduce((a, b) => a * b, 1) * 4;
    return Math.max(n, 1 << 20);
  } finally {
    f.close();
  }
}

function wire(t: Tensor): WireFeeds[string] {
  return { type: 'float32', dims: [...t.shape], data: t.data };
}

/** Runs one prepared call (after wrappers) in the worker; returns the raw eps / v prediction. */
export async function runUNet(service: ModelService, call: UNetCall): Promise<Tensor> {
  const s = await unetSession(service, call.model, call.control && (call as UNetCall & UNetCallControl).controlLayout === 'input' ? 'input' : !!call.control);
  const B = call.x.shape[0]!;
  if (call.x.shape[1] !== s.inChannels) {
    throw new WeftError(`the model takes ${s.inChannels} input channels, got a latent batch with ${call.x.shape[1]}` +
      (s.inChannels === 9 ? ' (an inpaint model needs InpaintModelConditioning or VAEEncodeForInpaint)' : ''), { input: 'latent_image' });
  }
  const feeds: WireFeeds = {
    x: wire(call.x),
    timesteps: { type: 'float32', dims: [B], data: call.timesteps },
    context: wire(call.context),
  };
  if (s.admInChannels > 0) {
    if (!call.y) throw new WeftError('this model needs pooled text conditioning (SDXL "y"): encode the prompt with this model\'s CLIP', { input: 'positive' });
    feeds.y = wire(call.y);
  }
  if (call.control) {
    // Residuals of a ControlNet made for another UNet layout would otherwise fail inside ORT without a name.
    if (call.control.length !== s.controlInputs.length) {
      throw new WeftError(`the ControlNet gives ${call.control.length} residuals but this model's UNet takes ${s.controlInputs.length}; the ControlNet was made for another model family`, { input: 'control_net' });
    }
    call.control.forEach((t, i) => (feeds[s.controlInputs[i]!] = wire(t)));
  }
  // Graph inputs of build hooks (absent for plain models, so their feeds are exactly as before).
  for (const [name, t] of Object.entries((call as UNetCall & UNetCallFeeds).feeds ?? {})) feeds[name] = wire(t);
  const out = (await s.handle.run(feeds)).out;
  if (!out) throw new WeftError('the UNet session returned no "out" tensor');
  return { shape: out.dims, data: out.data as Float32Array };
}
