/**
 * ONNX graphs of the upscalers described by arch.ts: input `image` [N, C, H, W] in [0,1], output `output`
 * [N, C, H·s, W·s] clamped to [0,1] (spandrel's descriptor call clamps; ComfyUI clamps again after tiling).
 * H and W are dynamic; pixel-unshuffled RRDBNets need multiples of the shuffle factor (model.ts pads).
 */
import type { WeightSource } from '../../onnx/weights.ts';
import { GraphBuilder, type Ep } from '../../onnx/index.ts';
import { conv2d } from '../layers/index.ts';
import type { RrdbArch, SrvggArch, UpscalerArch } from './arch.ts';

const SLOPE = 0.2;

function lrelu(g: GraphBuilder, x: string): string {
  return g.op('LeakyRelu', [x], { alpha: SLOPE });
}

function nearest(g: GraphBuilder, x: string, factor: number): string {
  return g.op('Resize', [x, '', g.constant(Float32Array.of(1, 1, factor, factor), [4])], {
    mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor',
  });
}

/**
 * torch.pixel_unshuffle: channel c·r² + i·r + j holds pixel (i, j) of each r×r cell. SpaceToDepth orders
 * channels (i·r + j)·C + c instead, so a constant Gather puts them in torch's order.
 */
function pixelUnshuffle(g: GraphBuilder, x: string, channels: number, r: number): string {
  const s2d = g.op('SpaceToDepth', [x], { blocksize: r });
  const idx = new BigInt64Array(channels * r * r);
  for (let c = 0; c < channels; c++) for (let k = 0; k < r * r; k++) idx[c * r * r + k] = BigInt(k * channels + c);
  return g.op('Gather', [s2d, g.constant(idx, [idx.length])], { axis: 1 });
}

/** Residual dense block: five 3×3 convs over the growing concatenation, output x + 0.2·conv5. */
function denseBlock(g: GraphBuilder, f: WeightSource, a: RrdbArch, block: number, rdb: number, x: string): string {
  const feats = [x];
  const outs: string[] = [];
  for (let c = 1; c <= 4; c++) {
    const cat = feats.length === 1 ? x : g.op('Concat', feats, { axis: 1 });
    let y = lrelu(g, conv2d(g, f, a.keys.dense(block, rdb, c), cat));
    // ESRGAN+: conv2 gains a 1×1 path from the block input, conv4 a skip from conv2's output.
    if (a.plus && c === 2) y = g.op('Add', [y, conv2d(g, f, a.keys.dense(block, rdb, 0), x)]);
    if (a.plus && c === 4) y = g.op('Add', [y, outs[1]!]);
    outs.push(y);
    feats.push(y);
  }
  const y5 = conv2d(g, f, a.keys.dense(block, rdb, 5), g.op('Concat', feats, { axis: 1 }));
  return g.op('Add', [x, g.op('Mul', [y5, g.scalar(SLOPE)])]);
}

function rrdbnet(g: GraphBuilder, f: WeightSource, a: RrdbArch, image: string): string {
  const x = a.shuffle > 1 ? pixelUnshuffle(g, image, a.inChannels, a.shuffle) : image;
  const feat = conv2d(g, f, a.keys.first, x);
  let body = feat;
  for (let b = 0; b < a.numBlocks; b++) {
    let y = body;
    for (let r = 1; r <= 3; r++) y = denseBlock(g, f, a, b, r, y);
    body = g.op('Add', [body, g.op('Mul', [y, g.scalar(SLOPE)])]);
  }
  let h = g.op('Add', [feat, conv2d(g, f, a.keys.trunk, body)]);
  for (const up of a.keys.ups) h = lrelu(g, conv2d(g, f, up, nearest(g, h, 2)));
  return conv2d(g, f, a.keys.last, lrelu(g, conv2d(g, f, a.keys.hr, h)));
}

function srvgg(g: GraphBuilder, f: WeightSource, a: SrvggArch, image: string): string {
  let h = image;
  a.convs.forEach((conv, i) => {
    h = conv2d(g, f, conv, h);
    const prelu = a.prelus[i];
    if (prelu) {
      // PReLU weights are [C]; ONNX broadcasts the slope from the right, so make it [C, 1, 1].
      const slope = g.op('Reshape', [g.weight(f, prelu), g.constInt64([-1, 1, 1])]);
      h = g.op('PRelu', [h, slope]);
    }
  });
  // torch.pixel_shuffle is DepthToSpace in CRD order; the network learns a residual over nearest upsampling.
  const up = g.op('DepthToSpace', [h], { blocksize: a.scale, mode: 'CRD' });
  return g.op('Add', [up, nearest(g, image, a.scale)]);
}

export function buildUpscalerGraph(file: WeightSource, a: UpscalerArch, opts: { ep?: Ep } = {}): GraphBuilder {
  const g = new GraphBuilder({ name: `upscaler_${a.arch}`, ep: opts.ep });
  const image = g.input('image', 'float32', ['N', a.inChannels, 'H', 'W']);
  const raw = a.arch === 'rrdbnet' ? rrdbnet(g, file, a, image) : srvgg(g, file, a, image);
  const out = g.op('Clip', [raw, g.scalar(0), g.scalar(1)]);
  g.output(out, 'output', 'float32', ['N', a.outChannels, 'H_out', 'W_out']);
  return g;
}
