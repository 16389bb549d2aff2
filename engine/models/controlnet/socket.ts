/**
 * The CONTROL_NET socket value and how a ControlNet rides on CONDITIONING, after ComfyUI: the apply nodes
 * never touch the MODEL; they put a `control` option on each conditioning entry (a ControlApplication: net,
 * hint image, strength, percent range, and the `previous` application it chains onto). At sampling time the
 * control stage (apply.ts) evaluates each row's chain, so cond and uncond can carry different ControlNets.
 */
import { WeftError } from '../../errors.ts';
import type { Conditioning } from '../../graph/sockets.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import type { ModelSampling } from '../../sampling/model-sampling.ts';
import { isTensor, type Tensor } from '../../tensor/tensor.ts';
import type { T2ISpec } from '../t2i/spec.ts';
import type { SdModel } from '../sd/model.ts';

declare module '../../graph/sockets.ts' {
  interface SocketValues {
    CONTROL_NET: ControlNetModel;
  }
}

/** A loaded (not yet sessioned) ControlNet: what ControlNetLoader / DiffControlNetLoader output. */
export interface ControlNetModel {
  readonly kind: 'controlnet';
  /** The user's file, for messages. */
  readonly path: string;
  /** Session key in the ModelService: the file's identity plus whatever changed its weights (diff merge). */
  readonly key: string;
  /** Opens the weights: the file itself, or an overlay whose `control_model.*` keys are diff-merged. The caller closes it. */
  open(): WeightSource & { close(): void };
  /** Key prefix of the ControlNet tensors ('control_model.' or ''). */
  readonly prefix: string;
  /** Head split when known from the model (diff ControlNets reuse the UNet's); else inferred from the file. */
  readonly heads: { numHeads?: number; headChannels?: number };
  /** ComfyUI's "shuffle" ControlNets average each residual over the image (named *_shuffle). */
  readonly globalAveragePooling: boolean;
  /** Set for a ControlNet Union (union.ts): the number of control types its task_embedding has. */
  readonly union?: { readonly types: number };
  /**
   * The control type SetUnionControlNetType chose (a task_embedding row; ComfyUI's `control_type` extra arg).
   * Unset is "auto". It is fed to the session, not part of its key: switching types reuses the session.
   */
  readonly controlType?: number;
  /** Set for a T2I-Adapter (ControlNetLoader returns those too): its layout; features replace the ControlNet run (t2i/). */
  readonly t2i?: T2ISpec;
  /**
   * Set for a Control-LoRA (control-lora.ts): its weights are deltas on the sampled model's UNet, so it only
   * becomes a ControlNet once bound to that model (ComfyUI builds it in pre_run); `open()` of the unbound net throws.
   */
  bind?(model: SdModel): ControlNetModel;
}

/**
 * One ControlNet applied to one conditioning entry (ComfyUI's `control_net.copy().set_cond_hint(...)`):
 * immutable, compared by identity. Entries that share an application batch their rows into one ControlNet call.
 */
export interface ControlApplication {
  readonly net: ControlNetModel;
  /** ComfyUI IMAGE [N, H, W, C] in [0, 1]; resized per call to the latent's pixel size. */
  readonly image: Tensor;
  readonly strength: number;
  readonly startPercent: number;
  readonly endPercent: number;
  /** The ControlNet this one was applied on top of; its residuals are summed in. */
  readonly previous?: ControlApplication;
}

const applications = new WeakSet<object>();

export function isControlNet(v: unknown): v is ControlNetModel {
  return typeof v === 'object' && v !== null && (v as ControlNetModel).kind === 'controlnet' && typeof (v as ControlNetModel).open === 'function';
}

export function asControlNet(v: unknown, input = 'control_net'): ControlNetModel {
  if (!isControlNet(v)) throw new WeftError(`${input}: expected a CONTROL_NET from ControlNetLoader or DiffControlNetLoader`, { input });
  return v;
}

/** The `control` option of a conditioning entry, or undefined (anything foreign is rejected, not ignored). */
export function controlOf(opts: Record<string, unknown> | undefined): ControlApplication | undefined {
  const c = opts?.control;
  if (c === undefined || c === null) return undefined;
  if (!applications.has(c as object)) throw new WeftError('conditioning carries a "control" option that no Apply ControlNet node made', { input: 'positive' });
  return c as ControlApplication;
}

function checkImage(image: unknown): Tensor {
  if (!isTensor(image) || image.shape.length !== 4) throw new WeftError('image: expected an IMAGE [batch, height, width, channels]', { input: 'image' });
  return image;
}

function application(a: ControlApplication): ControlApplication {
  const frozen = Object.freeze({ ...a });
  applications.add(frozen);
  return frozen;
}

export interface ApplyOptions {
  strength: number;
  startPercent?: number;
  endPercent?: number;
  /** ControlNetApply (old) lets the sampler hand this control to an uncontrolled uncond too. */
  applyToUncond: boolean;
}

/**
 * New conditioning lists with `net` applied to every entry, as ComfyUI's apply nodes do: each entry's existing
 * control becomes `previous`; entries with the same previous control share ONE new application (so a
 * positive and negative without control batch into one ControlNet call). Strength 0 returns the inputs
 * unchanged (the same lists), which is what makes it exactly "no ControlNet".
 */
export function applyControlNet(lists: readonly Conditioning[], net: ControlNetModel, image: unknown, o: ApplyOptions): Conditioning[] {
  if (o.strength === 0) return [...lists];
  const img = checkImage(image);
  const startPercent = o.startPercent ?? 0;
  const endPercent = o.endPercent ?? 1;
  const shared = new Map<ControlApplication | undefined, ControlApplication>();
  return lists.map((cond, li) => {
    if (!Array.isArray(cond)) throw new WeftError(`conditioning ${li + 1}: expected CONDITIONING`, { input: li === 0 ? 'positive' : 'negative' });
    return cond.map(([tensor, opts]) => {
      const previous = controlOf(opts);
      let app = shared.get(previous);
      if (!app) shared.set(previous, (app = application({ net, image: img, strength: o.strength, startPercent, endPercent, previous })));
      return [tensor, { ...opts, control: app, control_apply_to_uncond: o.applyToUncond }];
    });
  });
}

/**
 * Whether an application is active at `sigma`: its percent range mapped through the model's sampling
 * (percent 0 → "above every sigma", 1 → 0), compared in float32 as ComfyUI compares its sigma tensor.
 */
export function activeAt(app: ControlApplication, sigma: number, ms: ModelSampling): boolean {
  const s = Math.fround(sigma);
  return !(s > Math.fround(ms.percentToSigma(app.startPercent)) || s < Math.fround(ms.percentToSigma(app.endPercent)));
}

/** The chain from the newest application back to the first (for tests and messages). */
export function controlChain(app: ControlApplication | undefined): ControlApplication[] {
  const out: ControlApplication[] = [];
  for (let a = app; a; a = a.previous) out.push(a);
  return out;
}
