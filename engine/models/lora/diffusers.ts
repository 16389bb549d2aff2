/**
 * LDM (openaimodel) UNet key → diffusers key, for kohya LoRAs trained on diffusers-named modules
 * (`lora_unet_down_blocks_0_attentions_0_…`). The block layout is read from the checkpoint's own keys:
 * downsamplers (`input_blocks.N.0.op`) end each level, so res-blocks per level, level count and whether an
 * output block's upsampler sits at index 1 or 2 all come from the file, never from a table.
 */
const RES: Record<string, string> = {
  'in_layers.0': 'norm1', 'in_layers.2': 'conv1', 'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2', 'out_layers.3': 'conv2', 'skip_connection': 'conv_shortcut',
};
const TOP: Record<string, string> = {
  'time_embed.0': 'time_embedding.linear_1', 'time_embed.2': 'time_embedding.linear_2',
  'label_emb.0.0': 'add_embedding.linear_1', 'label_emb.0.2': 'add_embedding.linear_2',
  'input_blocks.0.0': 'conv_in', 'out.0': 'conv_norm_out', 'out.2': 'conv_out',
};

interface Layout {
  /** input block index → [level, index within level] or 'down' for the level's downsampler. */
  input: Map<number, { level: number; j: number; down: boolean }>;
  output: Map<number, { level: number; j: number }>;
}

function layout(keys: readonly string[]): Layout {
  const inIdx = new Set<number>();
  const downs = new Set<number>();
  let outMax = -1;
  for (const k of keys) {
    let m = /^input_blocks\.(\d+)\.0\.(op\.)?/.exec(k);
    if (m) { inIdx.add(Number(m[1])); if (m[2]) downs.add(Number(m[1])); continue; }
    m = /^output_blocks\.(\d+)\./.exec(k);
    if (m) outMax = Math.max(outMax, Number(m[1]));
  }
  const input = new Map<number, { level: number; j: number; down: boolean }>();
  const perLevel: number[] = [];
  let level = 0, j = 0;
  for (const n of [...inIdx].filter((n) => n > 0).sort((a, b) => a - b)) {
    if (downs.has(n)) { input.set(n, { level, j: 0, down: true }); perLevel[level] = j; level++; j = 0; }
    else input.set(n, { level, j: j++, down: false });
  }
  perLevel[level] = j;
  const output = new Map<number, { level: number; j: number }>();
  let n = 0;
  for (let up = 0; up < perLevel.length && n <= outMax; up++) {
    const count = perLevel[perLevel.length - 1 - up]! + 1;
    for (let i = 0; i < count; i++) output.set(n++, { level: up, j: i });
  }
  return { input, output };
}

function resName(rest: string): string | null {
  for (const [ldm, d] of Object.entries(RES)) if (rest === ldm || rest.startsWith(`${ldm}.`)) return d + rest.slice(ldm.length);
  return null;
}

/**
 * Maps UNet module paths (relative to the UNet prefix, without `.weight`) to their diffusers names.
 * `keys` are all UNet tensor keys relative to the prefix; unmapped modules are left out.
 */
export function diffusersNames(keys: readonly string[]): Map<string, string> {
  const L = layout(keys);
  const out = new Map<string, string>();
  const isUpsampleConv = (n: number, i: number): boolean => keys.includes(`output_blocks.${n}.${i}.conv.weight`);
  for (const key of keys) {
    if (!key.endsWith('.weight')) continue;
    const mod = key.slice(0, -'.weight'.length);
    const d = name(mod);
    if (d) out.set(mod, d);
  }
  return out;

  function name(mod: string): string | null {
    for (const [ldm, d] of Object.entries(TOP)) if (mod === ldm) return d;
    let m = /^input_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(mod);
    if (m) {
      const at = L.input.get(Number(m[1]));
      if (!at) return null;
      const base = `down_blocks.${at.level}`;
      if (at.down) return m[3] === 'op' ? `${base}.downsamplers.0.conv` : null;
      if (m[2] === '0') { const r = resName(m[3]!); return r ? `${base}.resnets.${at.j}.${r}` : null; }
      return m[2] === '1' ? `${base}.attentions.${at.j}.${m[3]}` : null;
    }
    m = /^middle_block\.(\d+)\.(.+)$/.exec(mod);
    if (m) {
      if (m[1] === '1') return `mid_block.attentions.0.${m[2]}`;
      const r = resName(m[2]!);
      return r ? `mid_block.resnets.${m[1] === '0' ? 0 : 1}.${r}` : null;
    }
    m = /^output_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(mod);
    if (m) {
      const n = Number(m[1]), i = Number(m[2]);
      const at = L.output.get(n);
      if (!at) return null;
      const base = `up_blocks.${at.level}`;
      if (i === 0) { const r = resName(m[3]!); return r ? `${base}.resnets.${at.j}.${r}` : null; }
      if (m[3] === 'conv' && isUpsampleConv(n, i)) return `${base}.upsamplers.0.conv`;
      return i === 1 ? `${base}.attentions.${at.j}.${m[3]}` : null;
    }
    return null;
  }
}
