export { PrecompiledCharsmap } from './charsmap.ts';
export { T5Encoder, type T5EncoderOptions } from './encoder.ts';
export { buildT5EncoderGraph, t5QuantKeys, type T5GraphOptions } from './graph.ts';
export { emptyT5Tokens, encodeT5Prompt, T5_MIN_LENGTH, tokenizeT5Prompt, type T5Tokens } from './prompt.ts';
export { bucketTable, findT5Prefix, relativePositionBucket, t5Spec, T5_PREFIXES, type T5Spec } from './spec.ts';
export { parseSpm, PIECE_TYPE, type SpmModel } from './spm.ts';
export { T5_EOS, T5_PAD, T5_TOKENIZER_FILES, T5Tokenizer, type PrependScheme, type T5TokenizerParts } from './tokenizer.ts';
export { Unigram, type UnigramPiece } from './unigram.ts';
