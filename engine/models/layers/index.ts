export { activation, conv2d, geglu, gelu, groupNorm, layerNorm, linear, linearKeys, matmulWeight, quickGelu, silu, twoPassNorm, type Activation, type ConvOptions, type LinearOptions } from './basic.ts';
export { attention, nchwToTokens, tokensToNchw, type AttentionOptions } from './attention.ts';
export { downsample2x, LDM_RES, resBlock, upsample2x, VAE_RES, type ResBlockOptions, type ResNames } from './resnet.ts';
export { sinusoidalEmbedding, torchExpF32 } from './sinusoidal.ts';
