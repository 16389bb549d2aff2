/**
 * unCLIP: the checkpoint loader, the ADM vector, and `unclipY` — the one call the sampler's conditioning
 * resolution (engine/models/sd/conds.ts) makes to get `y` for a model with an unCLIP augmentor.
 */
import type { Tensor } from '../../tensor/tensor.ts';
import type { SdModel } from '../sd/model.ts';
import { unclipAdm } from './adm.ts';
import { unclipAugmentorOf } from './load.ts';

export { ClipNoiseAugmentor, squaredcosSchedule, unclipAdm, type UnclipCond } from './adm.ts';
export { loadUnclipCheckpoint, unclipAugmentorOf, type LoadedUnclip, type UnclipLoadOptions } from './load.ts';

/**
 * SD21UNCLIP.encode_adm for one conditioning entry: zeros [1, adm] without unclip_conditioning (negative
 * prompts), else unclip_adm with the entry's unclip_noise_augment_merge (0.05) and seed − 10. Undefined when
 * `model` is not an unCLIP model. `seed` is the sampler's noise seed.
 */
export function unclipY(model: SdModel, opts: Record<string, unknown>, seed: bigint | number): Tensor | undefined {
  const aug = unclipAugmentorOf(model);
  if (!aug) return undefined;
  if (opts.unclip_conditioning === undefined) return { shape: [1, 2 * aug.dim], data: new Float32Array(2 * aug.dim) };
  const merge = typeof opts.unclip_noise_augment_merge === 'number' ? opts.unclip_noise_augment_merge : 0.05;
  return unclipAdm(opts.unclip_conditioning, aug, BigInt(seed) - 10n, merge);
}
