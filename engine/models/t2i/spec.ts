/**
 * T2I-Adapter files as ComfyUI's load_t2i_adapter reads them: the TencentARC layout (bare `conv_in`,
 * `body.N.{in_conv,block1,block2,skep,down_opt.op}`), the same under `adapter.`, diffusers' renamed one
 * (`adapter.body.i.resnets.j.` → `body.{2i+j}.`), and the light variant (`body.i.in_conv`, `body.i.body.k`,
 * `body.i.out_conv`). The variant decides where the four features land in the UNet (see `targets`).
 */
import { WeftError } from '../../errors.ts';

export interface T2ISpec {
  variant: 'full' | 'light';
  /** SDXL adapters (conv_in takes 256 or 768 = 1·16² / 3·16²): pixel unshuffle 16, no downsample before level 2. */
  xl: boolean;
  /** Pixel-unshuffle factor; the hint is resized to a multiple of it. */
  unshuffle: number;
  /** Image channels the adapter reads (1: the hint is averaged over RGB first). */
  imageChannels: number;
  /** Feature channels per level. */
  channels: number[];
  /** Residual blocks per level. */
  perLevel: number;
  /** Full adapter: 3×3 conv downsampling (else average pooling). */
  useConv: boolean;
  /** UNet input block whose output each level's feature joins (ComfyUI's control['input'] order); -1: the middle block. */
  targets: number[];
  /** How many input blocks the UNet the adapter was made for has. */
  inputBlocks: number;
}

/** True when the keys look like a T2I-Adapter of any layout ComfyUI loads. */
export function isT2IAdapter(keys: readonly string[]): boolean {
  return keys.some((k) => /^(adapter\.)?(conv_in\.weight|body\.0\.(in_conv|block1|resnets\.0\.block1)\.weight)$/.test(k));
}

/** The canonical (TencentARC) name of a file key, or null when it is not part of the adapter. */
export function t2iRenamer(keys: readonly string[]): (key: string) => string | null {
  const diffusers = keys.includes('adapter.body.0.resnets.0.block1.weight');
  return (key) => {
    let k = key;
    if (diffusers) {
      const m = /^adapter\.body\.(\d+)\.resnets\.(\d+)\.(.*)$/.exec(k);
      if (m) return `body.${Number(m[1]) * 2 + Number(m[2])}.${m[3]}`;
      const b = /^adapter\.body\.(\d+)\.(.*)$/.exec(k);
      if (b) return `body.${Number(b[1]) * 2}.${b[2]}`;
    }
    if (k.startsWith('adapter.')) k = k.slice('adapter.'.length);
    return /^(conv_in|body)\./.test(k) ? k : null;
  };
}

/** The adapter's layout from its canonical key shapes (ComfyUI's choices: 4 levels, light = 4 resnets, full = 2). */
export function t2iSpec(shapes: ReadonlyMap<string, { shape: readonly number[] }>, file: string): T2ISpec {
  const shape = (k: string): readonly number[] => {
    const t = shapes.get(k);
    if (!t) throw new WeftError(`${file}: T2I-Adapter tensor "${k}" is missing`, { file, type: 'invalid_model_file' });
    return t.shape;
  };
  const count = (re: RegExp): number => new Set([...shapes.keys()].map((k) => re.exec(k)?.[1]).filter((v) => v !== undefined)).size;
  if (shapes.has('body.0.in_conv.weight') && !shapes.has('conv_in.weight')) {
    const cin = shape('body.0.in_conv.weight')[1]!;
    const channels = [0, 1, 2, 3].map((i) => shape(`body.${i}.out_conv.weight`)[0]!);
    return { variant: 'light', xl: false, unshuffle: 8, imageChannels: cin / 64, channels, perLevel: count(/^body\.0\.body\.(\d+)\./), useConv: false, targets: [2, 5, 8, 11], inputBlocks: 12 };
  }
  const [c0, cin] = shape('conv_in.weight') as [number, number];
  const xl = cin === 256 || cin === 768;
  const unshuffle = xl ? 16 : 8;
  const blocks = count(/^body\.(\d+)\./);
  if (blocks % 4 !== 0) throw new WeftError(`${file}: a T2I-Adapter with ${blocks} body blocks (expected 4 levels)`, { file, type: 'invalid_model_file' });
  return {
    variant: 'full', xl, unshuffle, imageChannels: cin / (unshuffle * unshuffle), channels: [c0, c0 * 2, c0 * 4, c0 * 4], perLevel: blocks / 4,
    useConv: [...shapes.keys()].some((k) => k.endsWith('down_opt.op.weight')),
    // SDXL: levels 0–2 join input blocks 3, 5, 8 and level 3 the middle block (ComfyUI's xl feature list).
    targets: xl ? [3, 5, 8, -1] : [2, 5, 8, 11], inputBlocks: xl ? 9 : 12,
  };
}

/** Which level's block `n` of the full adapter is, and whether it downsamples first (levels 1–3; SDXL: only 2). */
export function fullBlockDown(spec: T2ISpec, n: number): boolean {
  const level = Math.floor(n / spec.perLevel);
  return n % spec.perLevel === 0 && (spec.xl ? level === 2 : level > 0);
}
