/** randn_* cases: torch.manual_seed + torch.randn, fresh per shape (`shapes`) or one stream (`shapes_in_order`). */
import type { CaseHandler } from '../types.ts';
import { TorchGenerator, numelOf } from '../../sampling/rng.ts';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export const handler: CaseHandler = {
  topic: 'rng',
  match: (c) => c.name.startsWith('randn_') && (Array.isArray(c.params?.shapes) || Array.isArray(c.params?.shapes_in_order)),
  async run(c) {
    const seed = BigInt(c.params.seed as number | string);
    const stream = Array.isArray(c.params.shapes_in_order);
    const shapes = (stream ? c.params.shapes_in_order : c.params.shapes) as number[][];
    const keys = Object.keys(c.expected);
    if (keys.length !== shapes.length) throw new Error(`${keys.length} expected tensors for ${shapes.length} shapes`);
    const g = new TorchGenerator(seed);
    const got: Record<string, Float32Array> = {};
    shapes.forEach((shape, i) => {
      const key = keys[i]!;
      if (!sameShape(c.expected[key]!.shape, shape)) throw new Error(`expected.${key} has shape [${c.expected[key]!.shape}], params say [${shape}]`);
      if (!stream) g.manualSeed(seed);
      got[key] = g.randn(numelOf(shape));
    });
    return { got };
  },
};
