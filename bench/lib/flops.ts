/**
 * Arithmetic work of one UNet call, counted from the parsed architecture (2 FLOPs per multiply-add of
 * every Conv, Linear and attention product; norms, activations and adds are left out, so this is a lower
 * bound on the work). Dividing it by the CPU's measured GEMM throughput gives the fastest a step could
 * possibly be on that machine, whatever graph runs it.
 */
import { downsampledSize, type Layer, type UNetConfig } from '../../engine/models/unet/config.ts';

export interface StepShape { batch: number; latent: number; tokens: number }

function layerMacs(l: Layer, hw: number, s: StepShape, timeEmbedDim: number): number {
  const B = s.batch;
  switch (l.kind) {
    case 'res':
      return B * hw * (9 * l.cin * l.cout + 9 * l.cout * l.cout + (l.skipConv ? l.cin * l.cout : 0)) + B * timeEmbedDim * l.cout;
    case 'conv':
      return B * hw * 9 * l.cin * l.cout;
    case 'down':
      return B * hw * 9 * l.ch * l.ch; // hw is the output (halved) size
    case 'up':
      return B * hw * 9 * l.ch * l.ch; // hw is the output (doubled) size
    case 'transformer': {
      const c = l.ch;
      const d = l.inner;
      const proj = 2 * B * hw * c * d;
      const self = B * hw * (4 * d * d) + 2 * B * hw * hw * d;
      const cross = B * hw * 2 * d * d + 2 * B * s.tokens * l.contextDim * d + 2 * B * hw * s.tokens * d;
      const ff = B * hw * (d * 2 * l.ffInner + l.ffInner * d);
      return proj + l.depth * (self + cross + ff);
    }
  }
}

function blockMacs(layers: Layer[], size: number, s: StepShape, ted: number): { macs: number; size: number } {
  let macs = 0;
  let sz = size;
  for (const l of layers) {
    if (l.kind === 'down') sz = Math.floor((sz - 1) / 2) + 1;
    if (l.kind === 'up') sz *= 2;
    macs += layerMacs(l, sz * sz, s, ted);
  }
  return { macs, size: sz };
}

/** FLOPs of one full UNet call (time/ADM embedding, input blocks, middle, output blocks, out conv). */
export function unetFlops(cfg: UNetConfig, s: StepShape): number {
  const ted = cfg.timeEmbedDim;
  let macs = s.batch * (cfg.modelChannels * ted + ted * ted + (cfg.admInChannels ? cfg.admInChannels * ted + ted * ted : 0));
  let size = s.latent;
  for (const b of cfg.inputBlocks) ({ macs: macs, size } = add(macs, blockMacs(b, size, s, ted)));
  macs += blockMacs(cfg.middleBlock, size, s, ted).macs;
  for (const b of cfg.outputBlocks) ({ macs: macs, size } = add(macs, blockMacs(b, size, s, ted)));
  macs += s.batch * size * size * 9 * cfg.modelChannels * cfg.outChannels;
  return 2 * macs;
}

function add(total: number, r: { macs: number; size: number }): { macs: number; size: number } {
  return { macs: total + r.macs, size: r.size };
}

/** FLOPs of one input block on its own (the bench's baseline block). */
export function blockFlops(cfg: UNetConfig, index: number, s: StepShape): number {
  const size = downsampledSize(s.latent, cfg.skips[index]!.down);
  const layers = cfg.inputBlocks[index]!;
  return 2 * layers.reduce((a, l) => a + layerMacs(l, size * size, s, cfg.timeEmbedDim), 0);
}
