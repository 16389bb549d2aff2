/**
 * A LoRA file read into modules (one per patched layer) and matched against a key map. Recognised weight
 * names follow ComfyUI's LoRA adapter: up/down pairs under kohya (`.lora_up.weight`), diffusers
 * (`_lora.up.weight`, `.lora.up.weight`, `.lora_linear_layer.up.weight`) and PEFT (`.lora_B.weight`,
 * `.lora_B.default.weight`, `.lora_B`) names, LoCon's `.lora_mid.weight`, `.alpha`, plus full-difference
 * patches (`.diff`, `.diff_b`). Every tensor that lands nowhere is reported, like ComfyUI's
 * "lora key not loaded" warnings.
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { KeyMap, PatchTarget } from './keys.ts';

export type Slot = 'up' | 'down' | 'mid' | 'alpha' | 'dora' | 'diff' | 'diff_b';

/** Longest suffixes first so `.lora_B.weight` is not read as `.lora_B` + junk. */
const SUFFIXES: Array<[string, Slot]> = [
  ['.lora_linear_layer.up.weight', 'up'], ['.lora_linear_layer.down.weight', 'down'],
  ['.lora_B.default.weight', 'up'], ['.lora_A.default.weight', 'down'],
  ['.lora_up.weight', 'up'], ['.lora_down.weight', 'down'], ['.lora_mid.weight', 'mid'],
  ['_lora.up.weight', 'up'], ['_lora.down.weight', 'down'],
  ['.lora.up.weight', 'up'], ['.lora.down.weight', 'down'],
  ['.lora_B.weight', 'up'], ['.lora_A.weight', 'down'],
  ['.lora_B', 'up'], ['.lora_A', 'down'],
  ['.alpha', 'alpha'], ['.dora_scale', 'dora'], ['.diff_b', 'diff_b'], ['.diff', 'diff'],
];

/** LyCORIS variants we recognise but do not apply (their keys are reported with this reason). */
const UNSUPPORTED = /\.(hada_w[12]_[ab]|hada_t[12]|lokr_w[12](_[ab])?|lokr_t2|oft_blocks|oft_diag|[ab][12]\.weight|w_norm|b_norm|set_weight)$/;

export interface LoraModule {
  name: string;
  /** LoRA tensor key per slot. */
  slots: Partial<Record<Slot, string>>;
}

export interface LoraFile {
  path: string;
  file: SafetensorsFile;
  modules: Map<string, LoraModule>;
  /** Keys with no recognised suffix: never loadable. */
  stray: string[];
}

export function readLora(path: string): LoraFile {
  const file = SafetensorsFile.open(path);
  const modules = new Map<string, LoraModule>();
  const stray: string[] = [];
  for (const key of file.keys()) {
    const hit = SUFFIXES.find(([s]) => key.endsWith(s));
    if (!hit) { stray.push(key); continue; }
    const name = key.slice(0, -hit[0].length);
    let m = modules.get(name);
    if (!m) modules.set(name, (m = { name, slots: {} }));
    m.slots[hit[1]] = key;
  }
  return { path, file, modules, stray };
}

/** One module's contribution to one checkpoint tensor. */
export interface Contribution {
  lora: LoraFile;
  module: LoraModule;
  /** up @ down (or a full diff) goes to `target`; `bias` marks a `.diff_b` patch of the matching bias. */
  target: PatchTarget;
  kind: 'lora' | 'diff';
  /** The module's own factor (alpha/rank, or 1); the node's strength multiplies it later. */
  scale: number;
}

export interface Matched {
  contributions: Contribution[];
  /** LoRA tensor keys that matched no module of the model, with a reason when it is not just the name. */
  notLoaded: string[];
}

/** Matches a LoRA against one or more key maps (UNet, CLIP) at once, as ComfyUI's load_lora does. */
export function matchLora(lora: LoraFile, map: KeyMap): Matched {
  const contributions: Contribution[] = [];
  const notLoaded: string[] = [...lora.stray.map((k) => UNSUPPORTED.test(k) ? `${k} (LyCORIS/OFT format, not supported)` : k)];
  for (const m of lora.modules.values()) {
    const target = map.get(m.name);
    const keys = Object.values(m.slots);
    if (!target) { notLoaded.push(...keys); continue; }
    if (m.slots.dora) {
      throw new WeftError(`${lora.path}: "${m.name}" is a DoRA module (dora_scale), which Weft cannot apply yet; use a plain LoRA`, { file: lora.path, input: m.slots.dora, type: 'model_load_error' });
    }
    const { up, down, diff, diff_b: diffB, alpha } = m.slots;
    let used = false;
    if (up && down) {
      const rank = lora.file.get(down).shape[0]!;
      const a = alpha ? lora.file.readFloat32(alpha)[0]! : undefined;
      contributions.push({ lora, module: m, target, kind: 'lora', scale: a === undefined ? 1 : a / rank });
      used = true;
    } else if (up || down) {
      notLoaded.push(`${up ?? down} (its ${up ? 'down' : 'up'} half is missing)`);
    }
    if (diff) { contributions.push({ lora, module: m, target, kind: 'diff', scale: 1 }); used = true; }
    if (diffB && target.key.endsWith('.weight') && !target.rows && !target.swapHalves) {
      contributions.push({ lora, module: { name: m.name, slots: { diff: diffB } }, target: { key: `${target.key.slice(0, -'.weight'.length)}.bias` }, kind: 'diff', scale: 1 });
      used = true;
    }
    if (!used) notLoaded.push(...keys);
    else if (m.slots.mid && !(up && down)) notLoaded.push(m.slots.mid);
  }
  return { contributions, notLoaded };
}
