/**
 * diffusers AutoencoderKL names ↔ LDM `first_stage_model` names. The decoder's levels are numbered in
 * opposite directions (diffusers up_blocks.0 is LDM decoder.up.{n-1}: the deepest level), so the level
 * count is read from the file. The mid-block attention has two diffusers namings: current
 * `to_q/to_k/to_v/to_out.0` and the legacy `query/key/value/proj_attn`; both map onto LDM `q/k/v/proj_out`.
 * Those four are Linear [C, C] in diffusers and 1×1 Conv [C, C, 1, 1] in LDM: the same bytes, so the
 * renamed view only reports the LDM shape (see `vaeLdmShape`).
 */

const ATTN_TO_LDM: Readonly<Record<string, string>> = {
  group_norm: 'norm', to_q: 'q', to_k: 'k', to_v: 'v', 'to_out.0': 'proj_out',
  query: 'q', key: 'k', value: 'v', proj_attn: 'proj_out',
};
const ATTN_TO_DIFFUSERS: Readonly<Record<string, string>> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' };
const RES_TO_LDM: Readonly<Record<string, string>> = { conv_shortcut: 'nin_shortcut' };
const RES_TO_DIFFUSERS: Readonly<Record<string, string>> = { nin_shortcut: 'conv_shortcut' };

/** Renames the first dotted segment(s) of `rest` through `table` (longest match), keeping the tail. */
function member(rest: string, table: Readonly<Record<string, string>>): string {
  for (const from of Object.keys(table).sort((a, b) => b.length - a.length)) {
    if (rest === from || rest.startsWith(`${from}.`)) return table[from]! + rest.slice(from.length);
  }
  return rest;
}

/** Number of decoder up levels of a diffusers VAE (`decoder.up_blocks.N.`), from its keys. */
export function vaeUpLevels(keys: Iterable<string>): number {
  let max = -1;
  for (const k of keys) {
    const m = /^decoder\.up_blocks\.(\d+)\./.exec(k);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

/** diffusers VAE key (no prefix) → LDM key (no prefix); null for a key no LDM module owns. */
export function ldmVaeKey(key: string, upLevels: number): string | null {
  let m = /^(encoder|decoder)\.(conv_in|conv_out)\.(.+)$/.exec(key);
  if (m) return key;
  m = /^(encoder|decoder)\.conv_norm_out\.(.+)$/.exec(key);
  if (m) return `${m[1]}.norm_out.${m[2]}`;
  m = /^(quant_conv|post_quant_conv)\.(.+)$/.exec(key);
  if (m) return key;
  m = /^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/.exec(key);
  if (m) return `encoder.down.${m[1]}.block.${m[2]}.${member(m[3]!, RES_TO_LDM)}`;
  m = /^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(key);
  if (m) return `encoder.down.${m[1]}.downsample.conv.${m[2]}`;
  m = /^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/.exec(key);
  if (m) return `decoder.up.${upLevels - 1 - Number(m[1])}.block.${m[2]}.${member(m[3]!, RES_TO_LDM)}`;
  m = /^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/.exec(key);
  if (m) return `decoder.up.${upLevels - 1 - Number(m[1])}.upsample.conv.${m[2]}`;
  m = /^(encoder|decoder)\.mid_block\.resnets\.([01])\.(.+)$/.exec(key);
  if (m) return `${m[1]}.mid.block_${Number(m[2]) + 1}.${member(m[3]!, RES_TO_LDM)}`;
  m = /^(encoder|decoder)\.mid_block\.attentions\.0\.(.+)$/.exec(key);
  if (m) {
    const renamed = member(m[2]!, ATTN_TO_LDM);
    return renamed === m[2] ? null : `${m[1]}.mid.attn_1.${renamed}`;
  }
  return null;
}

/** LDM VAE key (no prefix) → current diffusers key; the inverse of ldmVaeKey (used to write test folders). */
export function diffusersVaeKey(key: string, upLevels: number): string | null {
  let m = /^(encoder|decoder)\.(conv_in|conv_out)\..+$/.exec(key);
  if (m || /^(quant_conv|post_quant_conv)\./.test(key)) return key;
  m = /^(encoder|decoder)\.norm_out\.(.+)$/.exec(key);
  if (m) return `${m[1]}.conv_norm_out.${m[2]}`;
  m = /^encoder\.down\.(\d+)\.block\.(\d+)\.(.+)$/.exec(key);
  if (m) return `encoder.down_blocks.${m[1]}.resnets.${m[2]}.${member(m[3]!, RES_TO_DIFFUSERS)}`;
  m = /^encoder\.down\.(\d+)\.downsample\.conv\.(.+)$/.exec(key);
  if (m) return `encoder.down_blocks.${m[1]}.downsamplers.0.conv.${m[2]}`;
  m = /^decoder\.up\.(\d+)\.block\.(\d+)\.(.+)$/.exec(key);
  if (m) return `decoder.up_blocks.${upLevels - 1 - Number(m[1])}.resnets.${m[2]}.${member(m[3]!, RES_TO_DIFFUSERS)}`;
  m = /^decoder\.up\.(\d+)\.upsample\.conv\.(.+)$/.exec(key);
  if (m) return `decoder.up_blocks.${upLevels - 1 - Number(m[1])}.upsamplers.0.conv.${m[2]}`;
  m = /^(encoder|decoder)\.mid\.block_([12])\.(.+)$/.exec(key);
  if (m) return `${m[1]}.mid_block.resnets.${Number(m[2]) - 1}.${member(m[3]!, RES_TO_DIFFUSERS)}`;
  m = /^(encoder|decoder)\.mid\.attn_1\.(.+)$/.exec(key);
  if (m) return `${m[1]}.mid_block.attentions.0.${member(m[2]!, ATTN_TO_DIFFUSERS)}`;
  return null;
}

/**
 * The shape LDM gives a VAE tensor stored with `shape` under diffusers naming: attention q/k/v/proj_out
 * weights are 1×1 convs there, so a Linear [C, C] gains two trailing 1s (same element order, same bytes).
 */
export function vaeLdmShape(ldmKey: string, shape: readonly number[]): number[] {
  return shape.length === 2 && /\.mid\.attn_1\.(q|k|v|proj_out)\.weight$/.test(ldmKey) ? [...shape, 1, 1] : [...shape];
}
