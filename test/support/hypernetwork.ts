/**
 * Hypernetwork .pt files as A1111 saves them (what ComfyUI's HypernetworkLoader reads): integer width keys
 * holding [k, v] state dicts, then the settings keys, written with the torch.save writer.
 */
import { OrderedDict, PtTensor, PyFloat, torchSave, type PyValue } from './torch-save.ts';
import { rand } from './tensors.ts';

/** A module's state dict entries in order. */
export type Sd = Array<[string, PtTensor]>;

export const t = (data: Float32Array | Uint16Array, shape: number[]): PtTensor => new PtTensor(data, shape);

/** One Linear of zero weight and bias `b`: module(x) = b for every x. */
export function biasOnly(b: Float32Array): Sd {
  const w = b.length;
  return [['linear.0.weight', t(new Float32Array(w * w), [w, w])], ['linear.0.bias', t(b, [w])]];
}

/**
 * Linears of random weights through `widths` (e.g. [W, 2W, W]), named linear.0, linear.1, … with a LayerNorm
 * (random affine) after each Linear when `layerNorm`, as A1111 numbers its Sequential.
 */
export function mlp(widths: number[], seed: number, o: { layerNorm?: boolean; scale?: number } = {}): Sd {
  const sd: Sd = [];
  let n = 0;
  for (let i = 0; i + 1 < widths.length; i++) {
    const [a, b] = [widths[i]!, widths[i + 1]!];
    const s = o.scale ?? 1 / Math.sqrt(a);
    sd.push([`linear.${n}.weight`, t(rand([b, a], seed + 10 * i, s).data, [b, a])], [`linear.${n}.bias`, t(rand([b], seed + 10 * i + 1, 0.2).data, [b])]);
    n++;
    if (o.layerNorm) {
      sd.push([`linear.${n}.weight`, t(rand([b], seed + 10 * i + 2, 0.3, 1).data, [b])], [`linear.${n}.bias`, t(rand([b], seed + 10 * i + 3, 0.1).data, [b])]);
      n++;
    }
  }
  return sd;
}

const DEFAULTS: Record<string, PyValue> = {
  step: 1000, layer_structure: [new PyFloat(1), new PyFloat(2), new PyFloat(1)], activation_func: 'linear', is_layer_norm: false,
  weight_initialization: 'Normal', sd_checkpoint: 'e1441589', sd_checkpoint_name: 'v1-5-pruned-emaonly', activate_output: false,
  use_dropout: false, dropout_structure: [new PyFloat(0), new PyFloat(0), new PyFloat(0)], last_layer_dropout: false, optional_info: null,
};

/** Writes a hypernetwork; a setting given as `undefined` is left out of the file. */
export function writeHypernetwork(path: string, entries: Array<[number | string, Sd, Sd]>, settings: Record<string, PyValue | undefined> = {}): void {
  const root = new Map<PyValue, PyValue>();
  for (const [w, k, v] of entries) root.set(w, [new OrderedDict(k), new OrderedDict(v)]);
  for (const [key, value] of Object.entries({ ...DEFAULTS, ...settings })) if (value !== undefined) root.set(key, value);
  torchSave(path, root);
}
