/**
 * LDM (openaimodel) UNet names ↔ diffusers UNet2DConditionModel names, for SD1, SD2 and SDXL.
 * Both naming schemes are generated from one block layout (res blocks per level, which of them carry a
 * transformer, where the down/upsamplers sit), and the layout is read from whichever file is at hand: an
 * LDM checkpoint's keys (LoRA key mapping, moved here from lora/diffusers.ts) or a diffusers UNet's keys
 * (reading a diffusers folder in place). Nothing is taken from a table of known models, so the SDXL
 * refiner, inpainting UNets and odd block counts map the same way. Names inside a transformer are the same
 * in both schemes (proj_in, transformer_blocks.N.attn1.to_q, ff.net.0.proj, …); only res blocks and the
 * top-level modules are renamed.
 */

/** LDM ResBlock member → diffusers ResnetBlock2D member. */
const RES: ReadonlyArray<readonly [string, string]> = [
  ['in_layers.0', 'norm1'], ['in_layers.2', 'conv1'], ['emb_layers.1', 'time_emb_proj'],
  ['out_layers.0', 'norm2'], ['out_layers.3', 'conv2'], ['skip_connection', 'conv_shortcut'],
];
/** Top-level modules outside the blocks. */
const TOP: ReadonlyArray<readonly [string, string]> = [
  ['time_embed.0', 'time_embedding.linear_1'], ['time_embed.2', 'time_embedding.linear_2'],
  ['label_emb.0.0', 'add_embedding.linear_1'], ['label_emb.0.2', 'add_embedding.linear_2'],
  ['input_blocks.0.0', 'conv_in'], ['out.0', 'conv_norm_out'], ['out.2', 'conv_out'],
];

export interface LevelLayout {
  /** One entry per res block: whether a transformer follows it. */
  attn: boolean[];
  /** Down levels: ends with a downsampler; up levels: ends with an upsampler. */
  resample: boolean;
}

export interface UNetLayout {
  down: LevelLayout[];
  midAttn: boolean;
  /** In diffusers order: up_blocks.0 is the deepest level. */
  up: LevelLayout[];
}

/** One renamed module: an LDM module path and its diffusers path; `res` members are renamed too. */
export interface ModulePair { ldm: string; diffusers: string; res: boolean }

/** Every module pair of a layout, in block order. */
export function modulePairs(L: UNetLayout): ModulePair[] {
  const out: ModulePair[] = TOP.map(([ldm, diffusers]) => ({ ldm, diffusers, res: false }));
  const add = (ldm: string, diffusers: string, res = false): void => { out.push({ ldm, diffusers, res }); };
  let n = 1;
  L.down.forEach((lv, level) => {
    lv.attn.forEach((attn, j) => {
      add(`input_blocks.${n}.0`, `down_blocks.${level}.resnets.${j}`, true);
      if (attn) add(`input_blocks.${n}.1`, `down_blocks.${level}.attentions.${j}`);
      n++;
    });
    if (lv.resample) add(`input_blocks.${n++}.0.op`, `down_blocks.${level}.downsamplers.0.conv`);
  });
  add('middle_block.0', 'mid_block.resnets.0', true);
  // A UNet without a middle transformer (some SDXL distillations) has its second ResBlock at index 1.
  if (L.midAttn) add('middle_block.1', 'mid_block.attentions.0');
  add(`middle_block.${L.midAttn ? 2 : 1}`, 'mid_block.resnets.1', true);
  n = 0;
  L.up.forEach((lv, level) => {
    lv.attn.forEach((attn, i) => {
      add(`output_blocks.${n}.0`, `up_blocks.${level}.resnets.${i}`, true);
      if (attn) add(`output_blocks.${n}.1`, `up_blocks.${level}.attentions.${i}`);
      if (lv.resample && i === lv.attn.length - 1) add(`output_blocks.${n}.${attn ? 2 : 1}.conv`, `up_blocks.${level}.upsamplers.0.conv`);
      n++;
    });
  });
  return out;
}

function count(keys: readonly string[], prefix: string): number {
  let max = -1;
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const v = Number.parseInt(k.slice(prefix.length), 10);
    if (Number.isFinite(v) && v > max) max = v;
  }
  return max + 1;
}

const hasPrefix = (keys: readonly string[], p: string): boolean => keys.some((k) => k.startsWith(p));

/** The layout of a diffusers UNet, from its keys (no prefix). */
export function layoutFromDiffusers(keys: readonly string[]): UNetLayout {
  const level = (kind: 'down' | 'up', l: number): LevelLayout => {
    const p = `${kind}_blocks.${l}.`;
    const attn = Array.from({ length: count(keys, `${p}resnets.`) }, (_, j) => hasPrefix(keys, `${p}attentions.${j}.`));
    return { attn, resample: hasPrefix(keys, `${p}${kind}samplers.0.`) };
  };
  return {
    down: Array.from({ length: count(keys, 'down_blocks.') }, (_, l) => level('down', l)),
    midAttn: hasPrefix(keys, 'mid_block.attentions.0.'),
    up: Array.from({ length: count(keys, 'up_blocks.') }, (_, l) => level('up', l)),
  };
}

/** The layout of an LDM UNet, from its keys relative to the UNet prefix. Downsamplers end each level. */
export function layoutFromLdm(keys: readonly string[]): UNetLayout {
  const down: LevelLayout[] = [];
  let cur: LevelLayout = { attn: [], resample: false };
  for (let n = 1, last = count(keys, 'input_blocks.'); n < last; n++) {
    if (hasPrefix(keys, `input_blocks.${n}.0.op.`)) { cur.resample = true; down.push(cur); cur = { attn: [], resample: false }; }
    else if (hasPrefix(keys, `input_blocks.${n}.0.`)) cur.attn.push(hasPrefix(keys, `input_blocks.${n}.1.`));
  }
  if (cur.attn.length > 0) down.push(cur);
  const outCount = count(keys, 'output_blocks.');
  const up: LevelLayout[] = [];
  let n = 0;
  for (let level = 0; level < down.length && n < outCount; level++) {
    const lv: LevelLayout = { attn: [], resample: false };
    // The output side has one more ResBlock per level than the input side.
    for (let i = 0, size = down[down.length - 1 - level]!.attn.length + 1; i < size && n < outCount; i++, n++) {
      const attn = hasPrefix(keys, `output_blocks.${n}.1.`) && !hasPrefix(keys, `output_blocks.${n}.1.conv.`);
      lv.attn.push(attn);
      if (hasPrefix(keys, `output_blocks.${n}.${attn ? 2 : 1}.conv.`)) lv.resample = true;
    }
    up.push(lv);
  }
  return { down, midAttn: hasPrefix(keys, 'middle_block.2.'), up };
}

function renameMember(rest: string, res: boolean, toDiffusers: boolean): string | null {
  if (!res) return rest;
  for (const [ldm, d] of RES) {
    const [from, to] = toDiffusers ? [ldm, d] : [d, ldm];
    if (rest === from || rest.startsWith(`${from}.`)) return to + rest.slice(from.length);
  }
  return null;
}

/**
 * A key renamer over module pairs: `key` (a tensor or module path in the source scheme) → the other
 * scheme, or null when no module owns it. Prefix lookups walk the key's dotted prefixes, longest first.
 */
export function keyRenamer(pairs: readonly ModulePair[], toDiffusers: boolean): (key: string) => string | null {
  const byPrefix = new Map(pairs.map((p) => [toDiffusers ? p.ldm : p.diffusers, p]));
  return (key) => {
    for (let i = key.length; i > 0; i = key.lastIndexOf('.', i - 1)) {
      const p = byPrefix.get(key.slice(0, i));
      if (!p) continue;
      const target = toDiffusers ? p.diffusers : p.ldm;
      if (i === key.length) return target;
      const rest = renameMember(key.slice(i + 1), p.res, toDiffusers);
      return rest === null ? null : `${target}.${rest}`;
    }
    return null;
  };
}

/**
 * Maps UNet module paths (relative to the UNet prefix, without `.weight`) to their diffusers names.
 * `keys` are all UNet tensor keys relative to the prefix; unmapped modules are left out.
 * (The LoRA key map's entry point; lora/diffusers.ts re-exports it.)
 */
export function diffusersNames(keys: readonly string[]): Map<string, string> {
  const rename = keyRenamer(modulePairs(layoutFromLdm(keys)), true);
  const out = new Map<string, string>();
  for (const key of keys) {
    if (!key.endsWith('.weight')) continue;
    const mod = key.slice(0, -'.weight'.length);
    const d = rename(mod);
    if (d) out.set(mod, d);
  }
  return out;
}
