/**
 * Hypernetwork files, the A1111 format ComfyUI's HypernetworkLoader reads: a torch pickle whose integer keys
 * (320, 640, 768, …) are attention input widths, each holding two state dicts [k module, v module] of Linear
 * (and, with is_layer_norm, LayerNorm) layers; the other keys are settings. Reading checks the structure from
 * the pickle and the tensor shapes alone, so a broken file is refused before a graph or a side file exists.
 *
 * Graphs read the weights from a safetensors copy in the cache folder (`hypernetworkWeights`), as every other
 * PyTorch file is read, so ORT maps them instead of the graph carrying them inline.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { WeftError } from '../../errors.ts';
import { Reduced } from '../../io/pickle.ts';
import { writeSafetensors, type TensorToWrite } from '../../io/safetensors.ts';
import { TorchFile, type TorchTensor } from '../../io/torch-file.ts';
import { fileIdentity } from '../lora/cache.ts';

export const ACTIVATIONS = ['linear', 'relu', 'leakyrelu', 'elu', 'swish', 'tanh', 'sigmoid', 'softsign', 'mish'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** `key` names the layer's tensors (`${key}.weight`, `${key}.bias`) in the file and in its weights copy. */
export type HnLayer =
  | { kind: 'linear'; key: string; in: number; out: number }
  | { kind: 'layernorm'; key: string; width: number }
  | { kind: 'activation'; fn: Activation };

export interface Hypernetwork {
  path: string;
  /** The file's identity when it was read (real path, size, mtime): names its weights copy and its patch. */
  identity: string;
  activation: Activation;
  /** Attention input width → [k module, v module], each a layer sequence mapping that width to itself. */
  entries: Map<number, [HnLayer[], HnLayer[]]>;
  /** Every tensor the layers read, by key. */
  tensorNames: string[];
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** Python truthiness of the plain values a settings key can hold. */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map || v instanceof Set) return v.size > 0;
  return !!v;
}

/** An int key, or a string Python's int() would read as one (ComfyUI skips every other key). */
function widthOf(k: unknown): number | null {
  if (typeof k === 'number') return Number.isInteger(k) ? k : null;
  if (typeof k === 'string' && /^\s*[+-]?\d+\s*$/.test(k)) return Number.parseInt(k, 10);
  return null;
}

/** A pickled state dict: an OrderedDict comes back as a Map, or as a Reduced record holding one. */
function asDict(v: unknown): Map<unknown, unknown> | null {
  if (v instanceof Map) return v;
  if (v instanceof Reduced && v.state instanceof Map) return v.state;
  return null;
}

function parse(f: TorchFile): Omit<Hypernetwork, 'identity'> {
  const fail = (msg: string): never => {
    throw new WeftError(`${f.path}: not a usable hypernetwork: ${msg}`, { file: f.path, input: 'hypernetwork_name', type: 'invalid_model_file' });
  };
  const root = asDict(f.root) ?? fail('the file does not hold a dict');
  const setting = (k: string, dflt: unknown): unknown => (root.has(k) ? root.get(k) : dflt);
  const act = setting('activation_func', 'linear');
  if (typeof act !== 'string' || !(ACTIVATIONS as readonly string[]).includes(act)) {
    fail(`unsupported activation_func ${typeof act === 'string' ? JSON.stringify(act) : String(act)} (expected one of ${ACTIVATIONS.join(', ')})`);
  }
  const activation = act as Activation;
  const layerNorm = truthy(setting('is_layer_norm', false));
  const activateOutput = truthy(setting('activate_output', false));
  // use_dropout / last_layer_dropout only add Dropout layers, which do nothing at inference.
  const tensorNames: string[] = [];

  const tensor = (sd: Map<unknown, unknown>, base: string, name: string, where: string): TorchTensor => {
    if (!sd.has(name)) fail(`${where}: "${name}" is missing`);
    const t = f.adopt(sd.get(name), `${base}.${name}`) ?? fail(`${where}: "${name}" is not a tensor`);
    if (!FLOAT_DTYPES.has(t.dtype)) fail(`${where}: "${name}" has dtype ${t.dtype}, not a float type`);
    tensorNames.push(t.name);
    return t;
  };

  // Walks the weight names in dict order as ComfyUI does: with layer norm every other name is a LayerNorm, and
  // "last layer" (no activation unless activate_output) is judged by position in that name list.
  const module = (v: unknown, width: number, index: number): HnLayer[] => {
    const where = `entry ${width} ${index === 0 ? 'k' : 'v'} module`;
    const sd = asDict(v) ?? fail(`${where} is not a state dict`);
    const base = `${width}.${index}`;
    const names = [...sd.keys()].filter((k): k is string => typeof k === 'string' && k.endsWith('.weight')).map((k) => k.slice(0, -'.weight'.length));
    if (names.length === 0) fail(`${where} has no layers`);
    const layers: HnLayer[] = [];
    let w = width;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const last = i === names.length - 1;
      const W = tensor(sd, base, `${name}.weight`, where);
      const B = tensor(sd, base, `${name}.bias`, where);
      if (W.shape.length !== 2 || W.shape[1] !== w) fail(`${where}: Linear "${name}" has weight [${W.shape.join(', ')}] but its input is ${w} wide`);
      const out = W.shape[0]!;
      if (B.shape.length !== 1 || B.shape[0] !== out) fail(`${where}: Linear "${name}" has bias [${B.shape.join(', ')}] for ${out} outputs`);
      layers.push({ kind: 'linear', key: `${base}.${name}`, in: w, out });
      w = out;
      if (activation !== 'linear' && (!last || activateOutput)) layers.push({ kind: 'activation', fn: activation });
      if (layerNorm) {
        const ln = names[++i] ?? fail(`${where}: is_layer_norm is set but no LayerNorm follows Linear "${name}"`);
        for (const part of ['weight', 'bias']) {
          const t = tensor(sd, base, `${ln}.${part}`, where);
          if (t.shape.length !== 1 || t.shape[0] !== w) fail(`${where}: LayerNorm "${ln}" has ${part} [${t.shape.join(', ')}] after a ${w}-wide layer`);
        }
        layers.push({ kind: 'layernorm', key: `${base}.${ln}`, width: w });
      }
    }
    if (w !== width) fail(`${where} outputs ${w} values per token, not ${width}`);
    return layers;
  };

  const entries = new Map<number, [HnLayer[], HnLayer[]]>();
  for (const [k, v] of root) {
    const width = widthOf(k);
    if (width === null) continue;
    const pair: unknown[] = Array.isArray(v) && v.length >= 2 ? v : fail(`entry ${width} is not a [k, v] pair of state dicts`);
    entries.set(width, [module(pair[0], width, 0), module(pair[1], width, 1)]);
  }
  if (entries.size === 0) fail('it has no attention-width entries (integer keys such as 768)');
  return { path: f.path, activation, entries, tensorNames };
}

/** Reads and checks a hypernetwork file (the pickle and tensor shapes; no tensor data). */
export function readHypernetwork(path: string): Hypernetwork {
  if (!existsSync(path)) throw new WeftError(`${path}: hypernetwork file not found`, { file: path, input: 'hypernetwork_name', type: 'model_load_error' });
  const identity = fileIdentity(path);
  const f = TorchFile.open(path);
  try {
    return { ...parse(f), identity };
  } finally {
    f.close();
  }
}

const FORMAT = 'weft-hypernetwork/1';

/**
 * The safetensors copy of a hypernetwork's tensors in `cacheDir`, written once per file identity (path, size,
 * mtime) and reused after. Tensors keep their dtype; names are the layers' keys (`768.0.linear.0.weight`).
 */
export function hypernetworkWeights(hn: Hypernetwork, cacheDir: string): string {
  const id = createHash('sha256').update(`${FORMAT}\0${hn.identity}`).digest('hex').slice(0, 16);
  const out = join(cacheDir, `${basename(hn.path).replace(/\.[^.]+$/, '')}-${id}.safetensors`);
  if (existsSync(out)) return out;
  // The copy must hold the tensors `hn` describes: a file replaced since it was read is read again by the caller.
  if (fileIdentity(hn.path) !== hn.identity) {
    throw new WeftError(`${hn.path}: the hypernetwork file changed on disk while it was being loaded; run the workflow again`, { file: hn.path, input: 'hypernetwork_name', type: 'model_load_error' });
  }
  mkdirSync(cacheDir, { recursive: true });
  const f = TorchFile.open(hn.path);
  try {
    parse(f); // registers the tensors under the same names as when `hn` was read
    const tensors: Record<string, TensorToWrite> = {};
    for (const name of hn.tensorNames) {
      const t = f.get(name);
      tensors[name] = { dtype: t.dtype, shape: t.shape, data: f.readRaw(name) };
    }
    writeSafetensors(out, tensors, { format: FORMAT, source: basename(hn.path) });
  } finally {
    f.close();
  }
  return out;
}
