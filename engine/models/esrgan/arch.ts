/**
 * Which single-image upscaler a weight file holds, with every dimension read from tensor shapes and every
 * key spelled out, so the graph builder never guesses names. Key layouts recognised (as spandrel does):
 *   RRDBNet  Real-ESRGAN  conv_first, body.N.rdbK.convJ, conv_body, conv_upI, conv_hr, conv_last
 *            BSRGAN/RealSR conv_first, RRDB_trunk.N.RDBK.convJ, trunk_conv, upconvI, HRconv, conv_last
 *            old ESRGAN    model.0, model.1.sub.N.RDBK.convJ.0, model.1.sub.NB, model.M (ups, HR, last)
 *            ESRGAN+       old layout plus model.1.sub.N.RDBK.conv1x1 (extra residual paths)
 *   SRVGGNetCompact (realesr-general-x4v3, animevideo): body.0 conv, body.1 PReLU, …, body.L conv.
 * Real-ESRGAN ×2 / ×1 RRDBNets pixel-unshuffle the input first: conv_first then sees 4× or 16× the channels.
 */
import { WeftError } from '../../errors.ts';
import type { TensorSource } from '../detect.ts';

export interface RrdbArch {
  arch: 'rrdbnet';
  layout: 'real-esrgan' | 'bsrgan' | 'esrgan';
  /** Image channels (before pixel-unshuffle). */
  inChannels: number;
  outChannels: number;
  numFeat: number;
  numBlocks: number;
  growth: number;
  /** Pixel-unshuffle factor applied to the input (1: none). */
  shuffle: number;
  /** Overall scale: 2^upsamples / shuffle. */
  scale: number;
  /** ESRGAN+ conv1x1 residual paths. */
  plus: boolean;
  keys: {
    first: string;
    /** Prefix of RRDB `block`'s dense block `rdb` (1–3) conv `conv` (1–5; 0 = the ESRGAN+ conv1x1). */
    dense: (block: number, rdb: number, conv: number) => string;
    trunk: string;
    ups: string[];
    hr: string;
    last: string;
  };
}

export interface SrvggArch {
  arch: 'srvgg';
  inChannels: number;
  outChannels: number;
  numFeat: number;
  /** Conv prefixes in order, first to last. */
  convs: string[];
  /** PReLU weight keys, one after each conv but the last. */
  prelus: string[];
  scale: number;
}

export type UpscalerArch = RrdbArch | SrvggArch;

/** Multiple the input height/width must have (pixel-unshuffle); spandrel pads to 4 for every shuffled model. */
export function sizeMultiple(a: UpscalerArch): number {
  return a.arch === 'rrdbnet' && a.shuffle > 1 ? 4 : 1;
}

export function archName(a: UpscalerArch): string {
  if (a.arch === 'srvgg') return `SRVGGNetCompact ×${a.scale} (${a.numFeat}nf, ${a.convs.length - 2} convs)`;
  const kind = a.plus ? 'ESRGAN+' : a.layout === 'real-esrgan' ? 'Real-ESRGAN' : a.layout === 'bsrgan' ? 'BSRGAN/RealSR' : 'ESRGAN';
  return `${kind} RRDBNet ×${a.scale} (${a.numFeat}nf, ${a.numBlocks}nb)`;
}

function shapeOf(src: TensorSource, key: string): readonly number[] {
  const s = src.tensors.get(key)?.shape;
  if (!s) throw new WeftError(`${src.path}: tensor "${key}" is missing (needed to read the upscaler's layout)`, { file: src.path, input: key, type: 'invalid_model_file' });
  return s;
}

function maxIndex(src: TensorSource, re: RegExp): number {
  let max = -1;
  for (const k of src.tensors.keys()) {
    const m = re.exec(k);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

function finishRrdb(src: TensorSource, layout: RrdbArch['layout'], keys: RrdbArch['keys'], numBlocks: number): RrdbArch {
  const first = shapeOf(src, `${keys.first}.weight`);
  const numFeat = first[0]!;
  const fileIn = first[1]!;
  const outChannels = shapeOf(src, `${keys.last}.weight`)[0]!;
  // spandrel's rule: input channels 4× or 16× the output's mean a pixel-unshuffled input.
  const shuffle = fileIn === outChannels * 4 ? 2 : fileIn === outChannels * 16 ? 4 : 1;
  const growth = shapeOf(src, `${keys.dense(0, 1, 1)}.weight`)[0]!;
  const plus = src.tensors.has(`${keys.dense(0, 1, 0)}.weight`);
  const scale = 2 ** keys.ups.length / shuffle;
  if (!Number.isInteger(scale)) {
    throw new WeftError(`${src.path}: RRDBNet with ${keys.ups.length} upsample convs and a ${shuffle}× pixel-unshuffle input has no integer scale`, { file: src.path, type: 'invalid_model_file' });
  }
  return { arch: 'rrdbnet', layout, inChannels: fileIn / (shuffle * shuffle), outChannels, numFeat, numBlocks, growth, shuffle, scale, plus, keys };
}

function describeRealEsrgan(src: TensorSource, bsrgan: boolean): RrdbArch {
  const body = bsrgan ? 'RRDB_trunk' : 'body';
  const rdb = bsrgan ? 'RDB' : 'rdb';
  const up = bsrgan ? 'upconv' : 'conv_up';
  const ups: string[] = [];
  for (let i = 1; src.tensors.has(`${up}${i}.weight`); i++) ups.push(`${up}${i}`);
  const numBlocks = maxIndex(src, new RegExp(`^${body}\\.(\\d+)\\.`)) + 1;
  return finishRrdb(src, bsrgan ? 'bsrgan' : 'real-esrgan', {
    first: 'conv_first',
    dense: (b, r, c) => `${body}.${b}.${rdb}${r}.${c === 0 ? 'conv1x1' : `conv${c}`}`,
    trunk: bsrgan ? 'trunk_conv' : 'conv_body',
    ups,
    hr: bsrgan ? 'HRconv' : 'conv_hr',
    last: 'conv_last',
  }, numBlocks);
}

function describeOldEsrgan(src: TensorSource): RrdbArch {
  const numBlocks = maxIndex(src, /^model\.1\.sub\.(\d+)\.RDB/) + 1;
  // Top-level convs after the trunk: the upsample convs, then HR conv, then the last conv.
  const tops: number[] = [];
  for (const k of src.tensors.keys()) {
    const m = /^model\.(\d+)\.weight$/.exec(k);
    if (m && Number(m[1]) > 1) tops.push(Number(m[1]));
  }
  tops.sort((a, b) => a - b);
  if (tops.length < 2) throw new WeftError(`${src.path}: ESRGAN layout without HR and last convs (model.N.weight after model.1)`, { file: src.path, type: 'invalid_model_file' });
  const names = tops.map((i) => `model.${i}`);
  return finishRrdb(src, 'esrgan', {
    first: 'model.0',
    dense: (b, r, c) => `model.1.sub.${b}.RDB${r}.${c === 0 ? 'conv1x1' : `conv${c}.0`}`,
    trunk: `model.1.sub.${numBlocks}`,
    ups: names.slice(0, -2),
    hr: names[names.length - 2]!,
    last: names[names.length - 1]!,
  }, numBlocks);
}

function describeSrvgg(src: TensorSource): SrvggArch {
  const last = maxIndex(src, /^body\.(\d+)\.weight$/);
  const convs: string[] = [];
  const prelus: string[] = [];
  for (let i = 0; i <= last; i += 2) {
    convs.push(`body.${i}`);
    if (i < last) {
      const key = `body.${i + 1}.weight`;
      if (!src.tensors.has(key)) throw new WeftError(`${src.path}: SRVGGNetCompact without PReLU weight "${key}" (only PReLU variants are supported)`, { file: src.path, input: key, type: 'invalid_model_file' });
      prelus.push(key);
    }
  }
  const first = shapeOf(src, 'body.0.weight');
  const inChannels = first[1]!;
  const lastOut = shapeOf(src, `body.${last}.weight`)[0]!;
  const scale = Math.round(Math.sqrt(lastOut / inChannels));
  if (scale * scale * inChannels !== lastOut) {
    throw new WeftError(`${src.path}: SRVGGNetCompact last conv has ${lastOut} outputs, not ${inChannels}·scale² for any integer scale`, { file: src.path, type: 'invalid_model_file' });
  }
  return { arch: 'srvgg', inChannels, outChannels: inChannels, numFeat: first[0]!, convs, prelus, scale };
}

/** The upscaler architecture of a file, or null when the keys match none of the known layouts. */
export function describeUpscaler(src: TensorSource): UpscalerArch | null {
  const t = src.tensors;
  if (t.has('conv_first.weight') && t.has('body.0.rdb1.conv1.weight') && t.has('conv_body.weight') && t.has('conv_last.weight')) return describeRealEsrgan(src, false);
  if (t.has('conv_first.weight') && t.has('RRDB_trunk.0.RDB1.conv1.weight') && t.has('trunk_conv.weight') && t.has('conv_last.weight')) return describeRealEsrgan(src, true);
  if (t.has('model.0.weight') && (t.has('model.1.sub.0.RDB1.conv1.0.weight') || t.has('model.1.sub.0.RDB1.conv1x1.weight'))) return describeOldEsrgan(src);
  if (t.has('body.0.weight') && t.has('body.1.weight') && shapeOf(src, 'body.0.weight').length === 4) return describeSrvgg(src);
  return null;
}
