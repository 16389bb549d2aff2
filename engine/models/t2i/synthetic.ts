/**
 * Tiny T2I-Adapter files with the real key layouts (TencentARC full with sk=True, light), deterministic
 * random weights, for tests and workflow stand-ins. `channels` is the first level's width (the UNet's
 * model channels); levels are [c, 2c, 4c, 4c] as ComfyUI assumes for the full adapter.
 */
import { writeSafetensors } from '../../io/safetensors.ts';
import { Rng, TensorSink } from '../fixtures/sink.ts';

export interface TinyT2IOptions {
  variant?: 'full' | 'light';
  /** First level's channels (the UNet's model_channels). */
  channels: number;
  /** Image channels: 3 (cin 192) or 1 (cin 64, e.g. sketch). */
  imageChannels?: 1 | 3;
  /** Full adapter: blocks per level (ComfyUI's 2) and conv downsampling (down_opt.op) or average pooling. */
  perLevel?: number;
  useConv?: boolean;
  /** Light adapter: resnets per level (ComfyUI's 4). */
  lightResnets?: number;
  seed?: number;
}

export function t2iTensors(o: TinyT2IOptions): TensorSink['out'] {
  const s = new TensorSink(new Rng(o.seed ?? 3), 'F32');
  const c = o.channels;
  const levels = [c, 2 * c, 4 * c, 4 * c];
  const cin = (o.imageChannels ?? 3) * 64;
  if (o.variant === 'light') {
    levels.forEach((ch, i) => {
      const inter = Math.max(1, Math.floor(ch / 4));
      s.conv(`body.${i}.in_conv`, inter, i === 0 ? cin : levels[i - 1]!, 1);
      for (let k = 0; k < (o.lightResnets ?? 4); k++) for (const b of ['block1', 'block2']) s.conv(`body.${i}.body.${k}.${b}`, inter, inter, 3);
      s.conv(`body.${i}.out_conv`, ch, inter, 1);
    });
    return s.out;
  }
  const per = o.perLevel ?? 2;
  s.conv('conv_in', c, cin, 3);
  levels.forEach((ch, i) => {
    for (let j = 0; j < per; j++) {
      const n = i * per + j;
      const prev = j === 0 && i > 0 ? levels[i - 1]! : ch;
      if (j === 0 && i > 0 && o.useConv !== false) s.conv(`body.${n}.down_opt.op`, prev, prev, 3);
      if (prev !== ch) s.conv(`body.${n}.in_conv`, ch, prev, 3);
      s.conv(`body.${n}.block1`, ch, ch, 3);
      s.conv(`body.${n}.block2`, ch, ch, 3);
    }
  });
  return s.out;
}

export function writeTinyT2IAdapter(path: string, o: TinyT2IOptions): void {
  writeSafetensors(path, t2iTensors(o));
}
