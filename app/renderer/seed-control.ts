/**
 * ComfyUI's "control after generate": after a prompt is queued, seed-like widgets move on so the next
 * run differs (or not, for "fixed"). Pure over numbers so the rule is unit-tested.
 */
export const CONTROL_MODES = ['fixed', 'increment', 'decrement', 'randomize'] as const;
export type ControlMode = (typeof CONTROL_MODES)[number];

/** The frontend caps randomized seeds at 2^50 so they stay exact in JS numbers. */
export const RANDOM_MAX = 1125899906842624;

export function nextSeed(value: number, mode: unknown, bounds: { min?: number; max?: number } = {}, random = Math.random): number {
  const min = bounds.min ?? 0;
  const max = Math.min(bounds.max ?? RANDOM_MAX, RANDOM_MAX);
  switch (mode) {
    case 'increment':
      return value + 1 > max ? min : value + 1;
    case 'decrement':
      return value - 1 < min ? max : value - 1;
    case 'randomize':
    case true: // old files stored the "random seed after every gen" toggle as a boolean
      return min + Math.floor(random() * (max - min + 1));
    default:
      return value;
  }
}
