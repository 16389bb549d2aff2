/**
 * A T2I-Adapter as one ONNX graph for one hint size: hint [B, imageChannels, H, W] in [0, 1] → `feature_0..3`
 * (one per level). The size is fixed because ComfyUI's light adapter pads its average pooling by H%2 / W%2,
 * an attribute; features are computed once per hint size anyway (they do not depend on latent or timestep).
 */
import { GraphBuilder, type Ep } from '../../onnx/index.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { conv2d } from '../layers/basic.ts';
import { fullBlockDown, type T2ISpec } from './spec.ts';

export interface BuiltT2I {
  bytes: Uint8Array;
  weightsDir: string;
  outputs: string[];
}

export function buildT2IAdapter(src: WeightSource, spec: T2ISpec, hintH: number, hintW: number, ep?: Ep): BuiltT2I {
  const g = new GraphBuilder({ name: 't2i-adapter', ep });
  const r = spec.unshuffle;
  const C = spec.imageChannels;
  let x = g.input('hint', 'float32', ['batch', C, hintH, hintW]);
  let h = hintH / r, w = hintW / r;
  // torch's PixelUnshuffle orders channels c·r² + i·r + j (ONNX SpaceToDepth puts the block offset first).
  x = g.op('Reshape', [x, g.constInt64([0, C, h, r, w, r])]);
  x = g.op('Transpose', [x], { perm: [0, 1, 3, 5, 2, 4] });
  x = g.op('Reshape', [x, g.constInt64([0, C * r * r, h, w])]);
  const cv = (v: string, key: string, stride = 1): string => conv2d(g, src, key, v, { stride });
  const relu = (v: string): string => g.op('Relu', [v]);
  /** ComfyUI's Downsample: 3×3 stride-2 conv, or 2×2 average pooling padded by the odd remainder (count_include_pad). */
  const down = (v: string, convKey?: string): string => {
    const [ph, pw] = [h % 2, w % 2];
    h = Math.ceil(h / 2);
    w = Math.ceil(w / 2);
    if (convKey) return cv(v, convKey, 2);
    return g.op('AveragePool', [v], { kernel_shape: [2, 2], strides: [2, 2], pads: [ph, pw, ph, pw], count_include_pad: 1 });
  };
  const outputs: string[] = [];
  const emit = (v: string, level: number): void => {
    const name = `feature_${level}`;
    g.output(v, name, 'float32', ['batch', spec.channels[level]!, h, w]);
    outputs.push(name);
  };
  if (spec.variant === 'light') {
    for (let i = 0; i < 4; i++) {
      if (i > 0) x = down(x);
      x = cv(x, `body.${i}.in_conv`);
      for (let k = 0; k < spec.perLevel; k++) x = g.op('Add', [cv(relu(cv(x, `body.${i}.body.${k}.block1`)), `body.${i}.body.${k}.block2`), x]);
      x = cv(x, `body.${i}.out_conv`);
      emit(x, i);
    }
  } else {
    x = cv(x, 'conv_in');
    for (let n = 0; n < 4 * spec.perLevel; n++) {
      const p = `body.${n}`;
      if (fullBlockDown(spec, n)) x = down(x, spec.useConv ? `${p}.down_opt.op` : undefined);
      if (src.has(`${p}.in_conv.weight`)) x = cv(x, `${p}.in_conv`);
      const y = cv(relu(cv(x, `${p}.block1`)), `${p}.block2`);
      x = g.op('Add', [y, src.has(`${p}.skep.weight`) ? cv(x, `${p}.skep`) : x]);
      if (n % spec.perLevel === spec.perLevel - 1) emit(x, Math.floor(n / spec.perLevel));
    }
  }
  const { bytes, weightsDir } = g.build();
  return { bytes, weightsDir, outputs };
}
