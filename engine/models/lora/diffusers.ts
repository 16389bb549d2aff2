/**
 * Moved: the LDM ↔ diffusers UNet key map now lives in engine/models/diffusers/unet-keys.ts, where the
 * diffusers-folder loader reads it in the other direction from the same block layout. Kept as a
 * re-export so the LoRA key map (keys.ts) and its importers are unchanged.
 */
export { diffusersNames } from '../diffusers/unet-keys.ts';
