/**
 * Stand-ins for model add-on files (used by tiny-models.ts): an A1111 hypernetwork with a module pair for every
 * attention width of the tiny checkpoint it is made for, and a kohya-named FLUX LoRA on tensors of the tiny
 * FLUX DiT. GLIGEN and ControlNet Union stand-ins come straight from engine/models/fixtures.
 */
import { fixtureShape, type SdFixtureOptions } from '../../../engine/models/fixtures/index.ts';
import { mlp, writeHypernetwork } from '../../support/hypernetwork.ts';
import { writeOracleLora } from '../../support/lora-oracle.ts';

/**
 * Hypernetwork modules are picked by the width of what an attention layer's keys and values read: the block
 * widths (self-attention) and the text width (cross-attention). A width no layer has is carried as real
 * files carry theirs, unused.
 */
export function writeTinyHypernetwork(file: string, base: SdFixtureOptions, seed: number): void {
  const u = fixtureShape(base).unet;
  const widths = [...new Set([...u.mult.map((m) => u.mc * m), u.ctx])].sort((a, b) => a - b);
  const pair = (w: number, i: number) => [w, mlp([w, 2 * w, w], seed + 100 * i), mlp([w, 2 * w, w], seed + 100 * i + 50)] as [number, ReturnType<typeof mlp>, ReturnType<typeof mlp>];
  writeHypernetwork(file, widths.map(pair), { activation_func: 'relu' });
}

/** A rank-4 LoRA in kohya names (lora_unet_…) on a double block, a single block and the final layer of `dit`. */
export function writeTinyFluxLora(file: string, dit: string, seed: number): void {
  const mod = (key: string) => ({ name: `lora_unet_${key.replace(/\.weight$/, '').replace(/\./g, '_')}`, key, rank: 4, alpha: 4, style: 'kohya' as const });
  writeOracleLora(file, dit, [mod('double_blocks.0.img_attn.qkv.weight'), mod('single_blocks.0.linear1.weight'), mod('final_layer.linear.weight')], seed);
}
