/**
 * The IPADAPTER socket value: one IP-Adapter weights file, classified the way ComfyUI_IPAdapter_plus does
 * it (by which `image_proj.*` keys exist), with every size read from tensor shapes. Opening reads only the
 * header; the weights stay in the file and are mapped by ORT in the projection and UNet graphs.
 *
 * Layout: `image_proj.*` (the image projection) and `ip_adapter.N.to_{k,v}_ip.weight` (N = 1, 3, 5, … one
 * pair per UNet cross-attention layer). Some conversions name the second group `adapter_modules.*`.
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { ClipVisionModel } from '../clip-vision/model.ts';

declare module '../../graph/sockets.ts' {
  interface SocketValues {
    IPADAPTER: IpAdapterModel | IpAdapterPipeline;
  }
}

/**
 * plain: ImageProjModel over image_embeds; plus: Resampler over penultimate states; full: MLPProjModel
 * (full-face) over penultimate states.
 */
export type ProjKind = 'plain' | 'plus' | 'full';

/** What IPAdapterUnifiedLoader hands on: the adapter plus the CLIP vision model chosen with it. */
export interface IpAdapterPipeline {
  ipadapter: IpAdapterModel;
  clipvision?: ClipVisionModel;
}

const BRAND = Symbol.for('weft.IpAdapterModel');

export class IpAdapterModel {
  readonly [BRAND] = true;

  private constructor(
    readonly path: string,
    readonly kind: ProjKind,
    /** Key prefixes of the two groups in this file. */
    readonly projPrefix: string,
    readonly layerPrefix: string,
    /** Module numbers N of ip_adapter.N.to_k_ip, ascending. */
    readonly modules: number[],
    /** Width of the text context the to_k_ip/to_v_ip layers take (768 SD1.5, 2048 SDXL). */
    readonly contextDim: number,
    /** Image tokens the projection yields per image. */
    readonly tokens: number,
  ) {}

  static open(path: string): IpAdapterModel {
    const f = SafetensorsFile.open(path);
    try {
      return IpAdapterModel.fromFile(f);
    } finally {
      f.close();
    }
  }

  static fromFile(f: SafetensorsFile): IpAdapterModel {
    const keys = f.keys();
    const layerPrefix = keys.some((k) => k.startsWith('ip_adapter.')) ? 'ip_adapter.' : keys.some((k) => k.startsWith('adapter_modules.')) ? 'adapter_modules.' : '';
    const projPrefix = 'image_proj.';
    const bad = (msg: string): never => { throw new WeftError(`${f.path}: ${msg}`, { file: f.path, type: 'invalid_model_file' }); };
    if (!layerPrefix) bad('not an IP-Adapter model (no ip_adapter.* tensors)');
    if (keys.some((k) => k.includes('to_q_lora')) || f.has(`${projPrefix}proj.2.weight`) && !f.has(`${projPrefix}proj.3.weight`) || keys.some((k) => k.startsWith(`${projPrefix}perceiver_resampler.`))) {
      bad('FaceID IP-Adapters need InsightFace, which Weft does not provide');
    }
    const modules = [...new Set(keys.filter((k) => k.startsWith(layerPrefix) && k.endsWith('.to_k_ip.weight')).map((k) => Number(k.slice(layerPrefix.length).split('.')[0])))].sort((a, b) => a - b);
    if (modules.length === 0) bad('no ip_adapter.N.to_k_ip.weight tensors');
    const contextDim = f.get(`${layerPrefix}${modules[0]}.to_k_ip.weight`).shape[1]!;
    let kind: ProjKind;
    let tokens: number;
    if (f.has(`${projPrefix}proj.3.weight`)) {
      kind = 'full';
      tokens = 257; // one token per CLIP vision position (CLS + 16×16 patches at 224 px), set at run time
    } else if (f.has(`${projPrefix}latents`)) {
      kind = 'plus';
      tokens = f.get(`${projPrefix}latents`).shape[1]!;
    } else if (f.has(`${projPrefix}proj.weight`) && f.has(`${projPrefix}norm.weight`)) {
      kind = 'plain';
      tokens = f.get(`${projPrefix}proj.weight`).shape[0]! / f.get(`${projPrefix}norm.weight`).shape[0]!;
      if (!Number.isInteger(tokens)) bad('image_proj.proj rows are not a multiple of image_proj.norm width');
    } else {
      return bad('unknown image projection (expected image_proj.proj/norm, image_proj.latents or image_proj.proj.3)');
    }
    return new IpAdapterModel(f.path, kind, projPrefix, layerPrefix, modules, contextDim, tokens);
  }

  /** ComfyUI_IPAdapter_plus decides SDXL by the adapter's context width. */
  get isSdxl(): boolean {
    return this.contextDim === 2048;
  }

  /** Plus and full-face adapters read penultimate CLIP vision states; plain ones read image_embeds. */
  get usesHiddenStates(): boolean {
    return this.kind !== 'plain';
  }

  key(n: number, kv: 'k' | 'v'): string {
    return `${this.layerPrefix}${n}.to_${kv}_ip.weight`;
  }
}

export function isIpAdapterModel(v: unknown): v is IpAdapterModel {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[BRAND] === true;
}

/** The IPADAPTER input: a bare adapter (IPAdapterModelLoader) or a unified-loader pipeline. */
export function asIpAdapter(v: unknown, input = 'ipadapter'): { model: IpAdapterModel; clipVision?: ClipVisionModel } {
  if (isIpAdapterModel(v)) return { model: v };
  if (typeof v === 'object' && v !== null && isIpAdapterModel((v as IpAdapterPipeline).ipadapter)) {
    const p = v as IpAdapterPipeline;
    return { model: p.ipadapter, clipVision: p.clipvision };
  }
  throw new WeftError(`input "${input}" is not an IP-Adapter (load one with IPAdapterModelLoader)`, { input });
}
