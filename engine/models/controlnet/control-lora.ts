/**
 * Stability AI's Control-LoRAs (a `lora_controlnet` tensor; bare LDM ControlNet keys): full tensors for the
 * ControlNet-only parts (input_hint_block, zero_convs, middle_block_out) and the 1-D ones, and `<layer>.up` /
 * `<layer>.down` pairs for the Linear/Conv layers of the encoder copy. As ComfyUI's ControlLora.pre_run, the
 * ControlNet exists only against the sampled model: every encoder tensor is the model's UNet tensor as the
 * sampler sees it (LoRA patches applied), a full tensor of the file replaces it, and a pair adds
 * up.flatten(1)·down.flatten(1) (reshaped, unscaled) on top. Binding writes the pair-patched weights once per
 * (file, model session) into a cache side file with the LoRA merger; every other tensor is read in place
 * (from the Control-LoRA file or the UNet's own files), so the ControlNet builder reads an ordinary LDM net.
 */
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import { SafetensorsFile, type SafetensorsTensor } from '../../io/safetensors.ts';
import { locateWeight, type TensorLocation, type WeightSource } from '../../onnx/weights.ts';
import { fileIdentity, materialise, PatchedSource, sideFileName } from '../lora/cache.ts';
import type { LoraFile } from '../lora/file.ts';
import type { Weighted } from '../lora/merge.ts';
import { openUNetWeights, type SdModel } from '../sd/model.ts';
import type { BuildUNetOptions } from '../unet/graph.ts';
import type { ControlNetModel } from './socket.ts';

/** The UNet modules a ControlNet copies; the decoder (output_blocks, out) has no counterpart. */
const ENCODER = /^(time_embed|label_emb|input_blocks|middle_block)\./;
/** Parts only a ControlNet has: they must come from the file. */
const CONTROL_ONLY = /^(input_hint_block|zero_convs|middle_block_out)\./;

export function isControlLora(f: Pick<SafetensorsFile, 'has'>): boolean {
  return f.has('lora_controlnet');
}

/** The MODEL's UNet weights as its UNet session reads them (LoRA patches included, as ComfyUI's patched state dict). */
export function modelUNetWeights(model: SdModel): { src: WeightSource; close(): void } {
  let o: BuildUNetOptions = { prefix: model.source.prefix, ...model.source.heads };
  for (const p of model.patches) if (p.build) o = p.build(o);
  const base = openUNetWeights(model.source);
  try {
    return { src: o.weights ? o.weights(base) : base, close: () => base.close() };
  } catch (e) {
    base.close();
    throw e;
  }
}

/** A ControlNet's tensors under bare LDM names, each read from whichever file holds it. */
class ControlView implements WeightSource {
  readonly tensors = new Map<string, SafetensorsTensor>();
  private readonly from = new Map<string, { src: WeightSource; key: string }>();

  constructor(readonly path: string, readonly metadata: Record<string, string>, private readonly closers: Array<() => void>) {}

  put(key: string, src: WeightSource, srcKey: string): void {
    this.tensors.set(key, { ...src.get(srcKey), name: key });
    this.from.set(key, { src, key: srcKey });
  }
  has(key: string): boolean { return this.tensors.has(key); }
  keys(): string[] { return [...this.tensors.keys()]; }
  get(key: string): SafetensorsTensor {
    const t = this.tensors.get(key);
    if (!t) throw new WeftError(`${this.path}: the Control-LoRA's ControlNet has no tensor "${key}"`, { file: this.path, input: key, type: 'model_load_error' });
    return t;
  }
  private origin(key: string): { src: WeightSource; key: string } { this.get(key); return this.from.get(key)!; }
  readRaw(key: string): Buffer { const o = this.origin(key); return o.src.readRaw(o.key); }
  readFloat32(key: string): Float32Array { const o = this.origin(key); return o.src.readFloat32(o.key); }
  locate(key: string): TensorLocation { const o = this.origin(key); return locateWeight(o.src, o.key); }
  close(): void { for (const c of this.closers.splice(0).reverse()) c(); }
}

interface Opened {
  view: ControlView;
  /** Layer → its up/down keys, for the layers whose `.weight` gets up·down added. */
  pairs: Map<string, { up?: string; down?: string }>;
  problems: string[];
  /** The Control-LoRA file (closed with the view). */
  lora: SafetensorsFile;
}

const count = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const dims = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Which file keys ComfyUI sets on the ControlNet (the rest are skipped): `.up/.down/.weight/.bias`, no `__`. */
export function usedKey(k: string): boolean {
  return k !== 'lora_controlnet' && /\.(up|down|weight|bias)$/.test(k) && !k.includes('__');
}

/** The ControlNet view of `lora` over `model`, with every way the two do not fit listed in `problems`. */
function openView(st: string, file: string, model: SdModel): Opened {
  const unet = modelUNetWeights(model);
  let lora: SafetensorsFile | undefined;
  try {
    lora = SafetensorsFile.open(st);
    const f = lora;
    const view = new ControlView(file, unet.src.metadata, [() => unet.close(), () => f.close()]);
    const p = model.source.prefix;
    let blocks = 0;
    for (const k of unet.src.keys()) {
      const rest = k.slice(p.length);
      if (!k.startsWith(p) || !ENCODER.test(rest)) continue;
      view.put(rest, unet.src, k);
      const m = /^input_blocks\.(\d+)\./.exec(rest);
      if (m) blocks = Math.max(blocks, Number(m[1]) + 1);
    }
    const problems: string[] = [];
    const pairs = new Map<string, { up?: string; down?: string }>();
    for (const k of f.keys().filter(usedKey)) {
      const m = /^(.*)\.(up|down)$/.exec(k);
      if (m) {
        let e = pairs.get(m[1]!);
        if (!e) pairs.set(m[1]!, (e = {}));
        e[m[2] as 'up' | 'down'] = k;
        continue;
      }
      const t = f.get(k);
      const z = /^zero_convs\.(\d+)\./.exec(k);
      if (z && Number(z[1]) >= blocks) problems.push(`"${k}": the model's UNet has ${blocks} input blocks`);
      else if (!CONTROL_ONLY.test(k) && !view.has(k)) problems.push(`"${k}" has no counterpart in the model's UNet`);
      else if (view.has(k) && dims(view.get(k).shape) !== dims(t.shape)) problems.push(`"${k}" is ${dims(t.shape)}, the model's UNet tensor ${dims(view.get(k).shape)}`);
      view.put(k, f, k);
    }
    for (const [layer, { up, down }] of pairs) {
      const w = `${layer}.weight`;
      if (!up || !down) { problems.push(`"${up ?? down}" has no ${up ? 'down' : 'up'} half`); continue; }
      if (!view.has(w)) { problems.push(`"${layer}.up/.down": the model's UNet has no "${w}"`); continue; }
      const [u, d, ws] = [f.get(up).shape, f.get(down).shape, view.get(w).shape];
      if (ws.length !== 2 && ws.length !== 4) problems.push(`"${layer}" is not a Linear or Conv layer (its weight is ${dims(ws)})`);
      else if (count(u.slice(1)) !== d[0]) problems.push(`"${layer}": up ${dims(u)} and down ${dims(d)} disagree on the rank`);
      else if (u[0]! * count(d.slice(1)) !== count(ws)) problems.push(`"${layer}": up·down is ${u[0]}×${count(d.slice(1))}, the model's UNet weight ${dims(ws)}`);
    }
    for (const k of ['input_hint_block.0.weight', 'middle_block_out.0.weight', ...Array.from({ length: blocks }, (_, i) => `zero_convs.${i}.0.weight`)]) {
      if (!view.has(k)) problems.push(`"${k}" is missing (a ControlNet for this UNet needs it)`);
    }
    return { view, pairs, problems, lora: f };
  } catch (e) {
    lora?.close();
    unet.close();
    throw e;
  }
}

function notFitting(file: string, model: SdModel, problems: string[]): WeftError {
  const shown = problems.slice(0, 4).join('; ');
  const more = problems.length > 4 ? `; … ${problems.length - 4} more` : '';
  return new WeftError(`${file}: this Control-LoRA does not fit the model's UNet (${model.source.path}); it was likely made for another model family: ${shown}${more}`, { file, input: 'control_net', type: 'model_load_error' });
}

/** Writes (or reuses) the side file with every paired layer's weight + up·down. */
function mergePairs(st: string, file: string, o: Opened, model: SdModel, cacheDir: string): string | undefined {
  const parts = new Map<string, Weighted[]>();
  const lf: LoraFile = { path: file, file: o.lora, modules: new Map(), stray: [] };
  for (const [layer, slots] of o.pairs) {
    const target = { key: `${layer}.weight` };
    parts.set(target.key, [{ c: { lora: lf, module: { name: layer, slots }, target, kind: 'lora', scale: 1 }, strength: 1 }]);
  }
  if (parts.size === 0) return undefined;
  const scope = `control-lora:${model.sessionKey}`;
  const dest = path.join(cacheDir, 'control-lora', sideFileName(o.view, scope, [{ path: st, strength: 1 }]));
  return materialise(o.view, parts, dest, { base: file, scope, loras: '[]' }).path;
}

/** The Control-LoRA's ControlNet on `model`: checked, merged, with a session key of its own per model session. */
function bindTo(st: string, file: string, model: SdModel, cacheDir: string): ControlNetModel {
  if (model.family === 'flux' || !model.detected.unet) {
    throw new WeftError(`${file}: a Control-LoRA patches an SD1/SD2/SDXL UNet; this model (${model.family}) has none`, { file, input: 'control_net', type: 'model_load_error' });
  }
  const o = openView(st, file, model);
  try {
    if (o.problems.length > 0) throw notFitting(file, model, o.problems);
    mergePairs(st, file, o, model, cacheDir);
  } finally {
    o.view.close();
  }
  return {
    kind: 'controlnet',
    path: file,
    prefix: '',
    key: ['control-lora', fileIdentity(st), model.sessionKey].join('|'),
    heads: model.source.heads,
    globalAveragePooling: false,
    open() {
      const o = openView(st, file, model);
      try {
        // Merged again only if the side file was pruned since binding; otherwise it is reused as is.
        const side = mergePairs(st, file, o, model, cacheDir);
        return side ? Object.assign(new PatchedSource(o.view, side), { close: () => o.view.close() }) : o.view;
      } catch (e) {
        o.view.close();
        throw e;
      }
    },
  };
}

/**
 * ControlNetLoader (and DiffControlNetLoader, which ComfyUI treats the same) for a Control-LoRA: a net that
 * the control stage binds to the model it samples with. No shuffle pooling: ComfyUI returns before its
 * file-name rule.
 */
export function loadControlLora(file: string, st: string, f: SafetensorsFile, o: { cacheDir: string; warn?: (m: string) => void }): ControlNetModel {
  if (!f.has('input_hint_block.0.weight')) {
    throw new WeftError(`${file}: a Control-LoRA (lora_controlnet) without input_hint_block.0.weight; the file is incomplete or of another kind`, { file, type: 'invalid_model_file' });
  }
  const skipped = f.keys().filter((k) => k !== 'lora_controlnet' && !usedKey(k));
  if (skipped.length > 0) o.warn?.(`${path.basename(file)}: ${skipped.length} tensor(s) of this Control-LoRA are not used (${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''})`);
  const bound = new Map<string, ControlNetModel>();
  return {
    kind: 'controlnet',
    path: file,
    prefix: '',
    key: ['control-lora', fileIdentity(st)].join('|'),
    heads: {},
    globalAveragePooling: false,
    open() {
      throw new WeftError(`${file}: a Control-LoRA becomes a ControlNet only on the model it samples with; apply it to conditioning and sample`, { file, input: 'control_net', type: 'model_load_error' });
    },
    bind(model) {
      let net = bound.get(model.sessionKey);
      if (!net) bound.set(model.sessionKey, (net = bindTo(st, file, model, o.cacheDir)));
      return net;
    },
  };
}
