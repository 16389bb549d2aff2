export { SeedSequence, toUint32Words, type EntropyInput } from './seed-sequence.ts';
export { BrownianInterval, randnSeeded, type BrownianIntervalOptions } from './brownian-interval.ts';
export { BrownianTree, torchsdeNoiseSampler, type BrownianTreeOptions } from './brownian-tree.ts';
export { pyRound } from './round.ts';
