/**
 * Text-encoder cases: SD1 CLIPTextEncode with clip skip and textual inversion (clip_prompt_*), raw towers
 * (clip_encoder_raw, sdxl_clip_encoder_raw, sd2v_clip_encoder_raw), SDXL dual encoders and the ADM vector
 * (sdxl_clip_prompt_*, sdxl_textencode_sdxl_node, sdxl_adm_y), SD2 OpenCLIP (sd2v_clip_prompt_*).
 */
import type { CaseContext, CaseHandler, CaseTensor, ConformanceCase } from '../types.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { CLIP_PREFIXES } from '../../models/clip/spec.ts';
import { CLIP_PRESETS, ClipTextEncoder, encodeSdxl, encodeTokenWeights, sdxlAdm, type TokenChunk } from '../../models/clip/encode.ts';
import { caseInput } from '../inputs.ts';

const encoders = new Map<string, ClipTextEncoder>();

function encoder(path: string, prefix: string): ClipTextEncoder {
  const key = `${path}|${prefix}`;
  let e = encoders.get(key);
  if (!e) {
    e = ClipTextEncoder.open(SafetensorsFile.open(path), prefix, {}, { threads: 1 });
    encoders.set(key, e);
  }
  return e;
}

function chunks(m: Map<string, CaseTensor>, c: ConformanceCase, suffix = ''): TokenChunk[] {
  const ids = caseInput(m, c, `token_ids${suffix}`);
  const w = caseInput(m, c, `token_weights${suffix}`).data as Float32Array;
  const [n, T] = ids.shape as [number, number];
  const data = ids.data as BigInt64Array;
  return Array.from({ length: n }, (_, i) => ({ ids: data.subarray(i * T, (i + 1) * T), weights: w.subarray(i * T, (i + 1) * T) }));
}

const idsOf = (m: Map<string, CaseTensor>, c: ConformanceCase, name: string) => {
  const t = caseInput(m, c, name);
  return { ids: t.data as BigInt64Array, batch: t.shape[0]! };
};

async function run(c: ConformanceCase, ctx: CaseContext): Promise<Record<string, Float32Array>> {
  const m = await ctx.tensors();
  const ckpt = ctx.model('checkpoint');
  if (c.name === 'clip_encoder_raw') {
    const e = encoder(ckpt, CLIP_PREFIXES.sd1);
    const { ids, batch } = idsOf(m, c, 'token_ids');
    const last = await e.run(ids, batch, null, { layer: -1, finalNorm: true, project: false });
    const pen = await e.run(ids, batch, null, { layer: -2, finalNorm: true, project: false });
    return { last_hidden_state: last.hidden, penultimate_final_ln: pen.hidden, pooled_first_eos: last.pooled };
  }
  if (c.name === 'sdxl_clip_encoder_raw') {
    const l = encoder(ckpt, CLIP_PREFIXES.sdxl_l), g = encoder(ckpt, CLIP_PREFIXES.sdxl_g);
    const il = idsOf(m, c, 'token_ids_l'), ig = idsOf(m, c, 'token_ids_g');
    const lPen = await l.run(il.ids, il.batch, null, { layer: -2, finalNorm: false, project: false });
    const lLast = await l.run(il.ids, il.batch, null, { layer: -1, finalNorm: true, project: false });
    const gPen = await g.run(ig.ids, ig.batch, null, { layer: -2, finalNorm: false, project: true });
    const gLast = await g.run(ig.ids, ig.batch, null, { layer: -1, finalNorm: true, project: false });
    return {
      l_penultimate: lPen.hidden, l_last_final_ln: lLast.hidden, g_penultimate: gPen.hidden, g_last_final_ln: gLast.hidden,
      g_pooled_unprojected: gLast.pooled, g_pooled_projected: gPen.pooled,
    };
  }
  if (c.name === 'sd2v_clip_encoder_raw') {
    const e = encoder(ckpt, CLIP_PREFIXES.sd2);
    const { ids, batch } = idsOf(m, c, 'token_ids');
    const pen = await e.run(ids, batch, null, { layer: -2, finalNorm: true, project: true });
    const last = await e.run(ids, batch, null, { layer: -1, finalNorm: true, project: false });
    return { penultimate_final_ln: pen.hidden, last_final_ln: last.hidden, pooled_projected: pen.pooled, pooled_unprojected: last.pooled };
  }
  if (c.name.startsWith('clip_prompt_')) {
    const e = encoder(ckpt, CLIP_PREFIXES.sd1);
    const extra = c.inputs.embedding_vectors ? (caseInput(m, c, 'embedding_vectors').data as Float32Array) : null;
    const ch = chunks(m, c);
    const last = await encodeTokenWeights(e, ch, CLIP_PRESETS.sd1, extra);
    const skip = await encodeTokenWeights(e, ch, { ...CLIP_PRESETS.sd1, layer: -2 }, extra);
    return { cond_last: last.cond, pooled_last: last.pooled, cond_clipskip2: skip.cond, pooled_clipskip2: skip.pooled };
  }
  if (c.name.startsWith('sd2v_clip_prompt_')) {
    const e = encoder(ckpt, CLIP_PREFIXES.sd2);
    const ch = chunks(m, c);
    const def = await encodeTokenWeights(e, ch, CLIP_PRESETS.sd2);
    const last = await encodeTokenWeights(e, ch, { ...CLIP_PRESETS.sd2, layer: -1 });
    return { cond: def.cond, pooled: def.pooled, cond_last_layer: last.cond };
  }
  if (c.name.startsWith('sdxl_clip_prompt_') || c.name === 'sdxl_textencode_sdxl_node') {
    const l = encoder(ckpt, CLIP_PREFIXES.sdxl_l), g = encoder(ckpt, CLIP_PREFIXES.sdxl_g);
    const r = await encodeSdxl(l, g, chunks(m, c, '_l'), chunks(m, c, '_g'));
    const out: Record<string, Float32Array> = { cond: r.cond, pooled: r.pooled };
    if (c.name === 'sdxl_textencode_sdxl_node') {
      const p = c.params;
      out.y = sdxlAdm(r.pooled, { width: p.width, height: p.height, cropW: p.crop_w, cropH: p.crop_h, targetWidth: p.target_width, targetHeight: p.target_height });
    }
    return out;
  }
  if (c.name === 'sdxl_adm_y') {
    const pooled = caseInput(m, c, 'pooled').data as Float32Array;
    const rows = (c.params.rows as Array<Record<string, number>>).map((r) =>
      sdxlAdm(pooled, { width: r.width!, height: r.height!, cropW: r.crop_w!, cropH: r.crop_h!, targetWidth: r.target_width!, targetHeight: r.target_height! }));
    const y = new Float32Array(rows.length * rows[0]!.length);
    rows.forEach((r, i) => y.set(r, i * r.length));
    return { y };
  }
  throw new Error(`case ${c.name}: not a text-encoder case`);
}

const NAMES = /^(clip_prompt_|clip_encoder_raw$|sdxl_clip_|sdxl_textencode_|sdxl_adm_y$|sd2v_clip_)/;

export const handler: CaseHandler = {
  topic: 'clip',
  match: (c) => NAMES.test(c.name),
  run: async (c, ctx) => ({ got: await run(c, ctx) }),
};
