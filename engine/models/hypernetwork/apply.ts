/**
 * A hypernetwork on the MODEL, as ComfyUI's hypernetwork_patch set as both attn1 and attn2 patch: in every
 * attention layer whose k/v input width W has an entry, k ← k + module_k(k)·s and v ← v + module_v(v)·s
 * before to_k / to_v (q is left alone). The modules are ops of the UNet graph reading the cached weights copy;
 * the strength is a graph constant, so it is part of the patch key and another strength is another session.
 */
import { basename } from 'node:path';
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { GraphBuilder } from '../../onnx/index.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import * as L from '../layers/index.ts';
import { asBuilderFile } from '../lora/bridge.ts';
import { openUNetWeights, type SdModel } from '../sd/model.ts';
import type { AttentionInputHook } from '../unet/blocks.ts';
import { parseUNetConfig } from '../unet/config.ts';
import { hypernetworkWeights, type Activation, type HnLayer, type Hypernetwork } from './file.ts';

function activation(g: GraphBuilder, fn: Activation, x: string): string {
  switch (fn) {
    case 'linear': return x;
    case 'relu': return g.op('Relu', [x]);
    case 'leakyrelu': return g.op('LeakyRelu', [x], { alpha: 0.01 }); // torch's default negative slope
    case 'elu': return g.op('Elu', [x], { alpha: 1 });
    case 'swish': return L.silu(g, x);
    case 'tanh': return g.op('Tanh', [x]);
    case 'sigmoid': return g.op('Sigmoid', [x]);
    // x / (1 + |x|) spelled out: not every execution provider has a Softsign kernel.
    case 'softsign': return g.op('Div', [x, g.op('Add', [g.op('Abs', [x]), g.scalar(1)])]);
    case 'mish': return g.op('Mul', [x, g.op('Tanh', [g.op('Softplus', [x])])]);
  }
}

/** One module (a layer sequence from the file) applied to `x`, weights read from `file`. */
export function emitModule(g: GraphBuilder, file: WeightSource, layers: readonly HnLayer[], x: string): string {
  let h = x;
  for (const l of layers) {
    if (l.kind === 'linear') h = L.linear(g, file, l.key, h);
    else if (l.kind === 'layernorm') h = L.layerNorm(g, file, l.key, h, 1e-5);
    else h = activation(g, l.fn, h);
  }
  return h;
}

/** The attention-input hook of `hn` at `strength`, its weights read from `weightsPath` (hypernetworkWeights). */
export function hypernetworkHook(hn: Hypernetwork, weightsPath: string, strength: number): AttentionInputHook {
  let file: SafetensorsFile | undefined;
  return ({ g, q, k, v, site }) => {
    const entry = hn.entries.get(site.width);
    if (!entry) return { q, k, v };
    if (!file) {
      // Only the header is needed while building (ORT maps the bytes later); the descriptor is closed at once.
      file = SafetensorsFile.open(weightsPath);
      file.close();
    }
    const s = g.scalar(strength);
    const add = (x: string, layers: readonly HnLayer[]): string => g.op('Add', [x, g.op('Mul', [emitModule(g, file!, layers, x), s])]);
    return { q, k: add(k, entry[0]), v: add(v, entry[1]) };
  };
}

/** Widths of every attn1 (the block's inner width) and attn2 (the context width) k/v input of the UNet. */
export function attentionWidths(model: SdModel): Set<number> {
  const f = openUNetWeights(model.source);
  try {
    const cfg = parseUNetConfig(asBuilderFile(f), { prefix: model.source.prefix, ...model.source.heads });
    const out = new Set<number>();
    for (const l of [...cfg.inputBlocks.flat(), ...cfg.middleBlock, ...cfg.outputBlocks.flat()]) {
      if (l.kind === 'transformer') out.add(l.inner).add(l.contextDim);
    }
    return out;
  } finally {
    f.close();
  }
}

export interface ApplyHypernetworkOptions {
  /** Folder for the weights copy (the node passes `<modelCacheDir>/hypernetwork`). */
  cacheDir: string;
  warn?: (message: string) => void;
}

/**
 * A clone of `model` with `hn` patched into every attention layer it has an entry for. Strength 0, or a file
 * with no entry for any width of this UNet, returns `model` itself: the graph stays the base graph exactly.
 * Several hypernetworks chain in the order they are applied, each seeing the previous one's k and v.
 */
export function applyHypernetwork(model: SdModel, hn: Hypernetwork, strength: number, o: ApplyHypernetworkOptions): SdModel {
  if (!Number.isFinite(strength)) throw new WeftError(`${basename(hn.path)}: strength must be a finite number, got ${strength}`, { input: 'strength' });
  if (strength === 0) return model;
  const name = basename(hn.path);
  // FLUX has no attn1/attn2 patch points (ComfyUI's patch does nothing there either).
  if (!model.detected.unet) {
    o.warn?.(`${name}: this ${model.family} model has no UNet attention layers for a hypernetwork; the model is unchanged`);
    return model;
  }
  const widths = attentionWidths(model);
  if (![...hn.entries.keys()].some((w) => widths.has(w))) {
    o.warn?.(`${name}: no entry (${[...hn.entries.keys()].join(', ')}) matches an attention width of this model (${[...widths].sort((a, b) => a - b).join(', ')}); the model is unchanged`);
    return model;
  }
  const hook = hypernetworkHook(hn, hypernetworkWeights(hn, o.cacheDir), strength);
  const c = model.clone();
  c.patches.push({
    kind: 'hypernetwork',
    key: `${hn.identity}@${strength}`,
    build: (b) => ({ ...b, attentionInputs: [...(b.attentionInputs ?? []), hook] }),
  });
  return c;
}
