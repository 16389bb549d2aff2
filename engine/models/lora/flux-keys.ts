/**
 * LoRA names for a FLUX DiT in the BFL layout (the layout Weft reads and ComfyUI converts to). Beside the
 * kohya (`lora_unet_double_blocks_0_img_attn_qkv`) and ComfyUI (`diffusion_model.double_blocks.0.…`) names
 * unetKeyMap gives every tensor, ComfyUI's Flux branch of model_lora_keys_unet accepts diffusers module names
 * (comfy.utils.flux_to_diffusers), each as `transformer.<name>` (diffusers/PEFT, SimpleTuner, ai-toolkit),
 * bare `<name>` (DiffSynth), `lora_transformer_<name_>` (OneTrainer) and `lycoris_<name_>`, plus
 * `diffusion_model.single_blocks.N.linear1_qkv` for the attention rows of linear1.
 *
 * diffusers splits what BFL fuses, so many targets are row ranges: img_attn.qkv = to_q | to_k | to_v,
 * txt_attn.qkv = add_q_proj | add_k_proj | add_v_proj, single linear1 = to_q | to_k | to_v | proj_mlp.
 * norm_out.linear holds (scale, shift) where final_layer.adaLN_modulation.1 holds (shift, scale): its delta
 * lands with the halves swapped, as ComfyUI's swap_scale_shift does.
 */
import type { WeightSource } from '../../onnx/weights.ts';
import { us, type KeyMap, type PatchTarget } from './keys.ts';

/** A BFL DiT under `prefix`: the FLUX input projection plus either kind of block. */
export function isFluxLayout(file: WeightSource, prefix: string): boolean {
  return file.has(`${prefix}img_in.weight`) && (file.has(`${prefix}double_blocks.0.img_attn.qkv.weight`) || file.has(`${prefix}single_blocks.0.linear1.weight`));
}

/** diffusers module → BFL tensor, inside one double-stream block. */
const DOUBLE: ReadonlyArray<readonly [string, string]> = [
  ['attn.to_out.0', 'img_attn.proj.weight'], ['attn.to_add_out', 'txt_attn.proj.weight'],
  ['norm1.linear', 'img_mod.lin.weight'], ['norm1_context.linear', 'txt_mod.lin.weight'],
  ['ff.net.0.proj', 'img_mlp.0.weight'], ['ff.net.2', 'img_mlp.2.weight'],
  ['ff_context.net.0.proj', 'txt_mlp.0.weight'], ['ff_context.net.2', 'txt_mlp.2.weight'],
  ['ff.linear_in', 'img_mlp.0.weight'], ['ff.linear_out', 'img_mlp.2.weight'],
  ['ff_context.linear_in', 'txt_mlp.0.weight'], ['ff_context.linear_out', 'txt_mlp.2.weight'],
  ['attn.norm_q', 'img_attn.norm.query_norm.scale'], ['attn.norm_k', 'img_attn.norm.key_norm.scale'],
  ['attn.norm_added_q', 'txt_attn.norm.query_norm.scale'], ['attn.norm_added_k', 'txt_attn.norm.key_norm.scale'],
];

/** Inside one single-stream block. */
const SINGLE: ReadonlyArray<readonly [string, string]> = [
  ['norm.linear', 'modulation.lin.weight'], ['proj_out', 'linear2.weight'], ['attn.to_out', 'linear2.weight'],
  ['attn.to_qkv_mlp_proj', 'linear1.weight'],
  ['attn.norm_q', 'norm.query_norm.scale'], ['attn.norm_k', 'norm.key_norm.scale'],
];

/** Outside the blocks. */
const GLOBAL: ReadonlyArray<readonly [string, string]> = [
  ['x_embedder', 'img_in'], ['context_embedder', 'txt_in'], ['proj_out', 'final_layer.linear'],
  ['time_text_embed.timestep_embedder.linear_1', 'time_in.in_layer'], ['time_text_embed.timestep_embedder.linear_2', 'time_in.out_layer'],
  ['time_text_embed.text_embedder.linear_1', 'vector_in.in_layer'], ['time_text_embed.text_embedder.linear_2', 'vector_in.out_layer'],
  ['time_text_embed.guidance_embedder.linear_1', 'guidance_in.in_layer'], ['time_text_embed.guidance_embedder.linear_2', 'guidance_in.out_layer'],
  ['controlnet_x_embedder', 'pos_embed_input'],
];

const blockCount = (file: WeightSource, probe: (i: number) => string): number => {
  let n = 0;
  while (file.has(probe(n))) n++;
  return n;
};

/** diffusers module name → BFL target, for the tensors this file has. */
export function fluxDiffusersTargets(file: WeightSource, prefix: string): Map<string, PatchTarget> {
  const out = new Map<string, PatchTarget>();
  const C = file.get(`${prefix}img_in.weight`).shape[0]!;
  const put = (name: string, key: string, extra: Omit<PatchTarget, 'key'> = {}) => {
    if (file.has(prefix + key)) out.set(name, { key: prefix + key, ...extra });
  };
  const thirds = (names: readonly string[], from: string, key: string) =>
    names.forEach((n, j) => put(`${from}.${n}`, key, { rows: [j * C, (j + 1) * C] }));
  const nDouble = blockCount(file, (i) => `${prefix}double_blocks.${i}.img_attn.qkv.weight`);
  for (let i = 0; i < nDouble; i++) {
    const from = `transformer_blocks.${i}`, to = `double_blocks.${i}`;
    thirds(['attn.to_q', 'attn.to_k', 'attn.to_v'], from, `${to}.img_attn.qkv.weight`);
    thirds(['attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj'], from, `${to}.txt_attn.qkv.weight`);
    for (const [d, b] of DOUBLE) put(`${from}.${d}`, `${to}.${b}`);
  }
  const nSingle = blockCount(file, (i) => `${prefix}single_blocks.${i}.linear1.weight`);
  for (let i = 0; i < nSingle; i++) {
    const from = `single_transformer_blocks.${i}`, to = `single_blocks.${i}`;
    thirds(['attn.to_q', 'attn.to_k', 'attn.to_v'], from, `${to}.linear1.weight`);
    const rows = file.get(`${prefix}${to}.linear1.weight`).shape[0]!;
    put(`${from}.proj_mlp`, `${to}.linear1.weight`, { rows: [3 * C, rows] });
    for (const [d, b] of SINGLE) put(`${from}.${d}`, `${to}.${b}`);
  }
  for (const [d, b] of GLOBAL) put(d, `${b}.weight`);
  put('norm_out.linear', 'final_layer.adaLN_modulation.1.weight', { swapHalves: true });
  return out;
}

/** Adds the diffusers-derived FLUX names (see the file comment) to `into`. */
export function fluxKeyMap(file: WeightSource, prefix: string, into: KeyMap = new Map()): KeyMap {
  for (const [d, t] of fluxDiffusersTargets(file, prefix)) {
    for (const name of [`transformer.${d}`, d, `lora_transformer_${us(d)}`, `lycoris_${us(d)}`]) into.set(name, t);
  }
  const C = file.get(`${prefix}img_in.weight`).shape[0]!;
  for (const k of file.keys()) {
    const m = k.startsWith(prefix) ? /^(single_blocks\.\d+)\.linear1\.weight$/.exec(k.slice(prefix.length)) : null;
    if (m) into.set(`diffusion_model.${m[1]}.linear1_qkv`, { key: k, rows: [0, 3 * C] });
  }
  return into;
}
