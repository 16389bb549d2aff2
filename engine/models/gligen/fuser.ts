/**
 * GLIGEN's GatedSelfAttentionDense as a UNet middle patch (ComfyUI runs it as `middle_patch` in every
 * BasicTransformerBlock, after attn1 and its residual, picking the module by transformer_index):
 *   o = linear(objs);  x += tanh(α_attn) · SelfAttn(norm1([x; o]))[:, :N];  x += tanh(α_dense) · FF(norm2(x))
 * LayerNorm works per token, so only the N visual tokens need queries; keys and values see all N + 30.
 *
 * Per batch row the terms are multiplied by a gate (graph input `${id}_gate` [B], 1 where the row's
 * conditioning carries GLIGEN, 0 elsewhere): a gate of 0 adds exactly +0, so that row is the plain UNet's.
 * The grounding tokens (PositionNet's output for each row's boxes) come in as `${id}_objs` [B, 30, C].
 */
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { GraphBuilder } from '../../onnx/index.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { WeftError } from '../../errors.ts';
import * as L from '../layers/index.ts';
import type { CrossAttnSite, MiddlePatchHook } from '../unet/blocks.ts';
import { MAX_OBJS, type FuserModule, type GligenModel } from './file.ts';

export const gligenFeedNames = (id: string): { objs: string; gate: string } => ({ objs: `${id}_objs`, gate: `${id}_gate` });

/** The grounding tokens as keys/values see them: norm1(linear(objs)) [B, 30, query]. */
export function groundingKeys(g: GraphBuilder, f: WeightSource, m: FuserModule, objs: string): string {
  return L.layerNorm(g, f, `${m.prefix}norm1`, L.linear(g, f, `${m.prefix}linear`, objs));
}

/**
 * One GatedSelfAttentionDense on x [B, N, query]; `keys` from groundingKeys, `gate` [B, 1, 1] (or any value
 * broadcasting over x) multiplies both added terms.
 */
export function gatedSelfAttention(g: GraphBuilder, f: WeightSource, m: FuserModule, x: string, keys: string, gate: string): string {
  const p = m.prefix;
  const coef = (alpha: string): string => g.op('Mul', [gate, g.op('Tanh', [g.weight(f, p + alpha)])]);
  const xn = L.layerNorm(g, f, `${p}norm1`, x);
  const kv = g.op('Concat', [xn, keys], { axis: 1 });
  const q = L.linear(g, f, `${p}attn.to_q`, xn);
  const a = L.attention(g, q, L.linear(g, f, `${p}attn.to_k`, kv), L.linear(g, f, `${p}attn.to_v`, kv), m.heads);
  let h = g.op('Add', [x, g.op('Mul', [L.linear(g, f, `${p}attn.to_out.0`, a), coef('alpha_attn')])]);
  const ff = L.linear(g, f, `${p}ff.net.2`, L.geglu(g, f, `${p}ff.net.0.proj`, L.layerNorm(g, f, `${p}norm2`, h)));
  h = g.op('Add', [h, g.op('Mul', [ff, coef('alpha_dense')])]);
  return h;
}

/** Module count and widths against the UNet's transformer blocks (ComfyUI would index past the list or fail in a matmul). */
export function checkFits(m: GligenModel, sites: readonly CrossAttnSite[]): void {
  const transformers = new Set(sites.map((s) => s.transformerIndex)).size;
  if (m.modules.length !== transformers) {
    throw new WeftError(`${m.path}: the GLIGEN file has ${m.modules.length} fuser modules but the model has ${transformers} SpatialTransformers; it was made for another model family`, { file: m.path, input: 'gligen_textbox_model' });
  }
  for (const s of sites) {
    const mod = m.modules[s.transformerIndex]!;
    if (mod.query !== s.inner) {
      throw new WeftError(`${m.path}: ${mod.prefix.slice(0, -1)} is ${mod.query} wide but the model's SpatialTransformer ${s.transformerIndex} is ${s.inner} wide; it was made for another model family`, { file: m.path, input: 'gligen_textbox_model' });
    }
  }
}

/** The middle patch of GLIGEN model `m` under input names `${id}_objs` / `${id}_gate`. */
export function gligenHook(m: GligenModel, id: string): MiddlePatchHook {
  let file: SafetensorsFile | undefined;
  let objs = '';
  let gate = '';
  const keys = new Map<number, string>();
  return {
    begin({ g, sites, declare }) {
      checkFits(m, sites);
      // Only the header is needed while building (ORT maps the bytes later); the descriptor is closed at once.
      file = SafetensorsFile.open(m.path);
      file.close();
      const names = gligenFeedNames(id);
      objs = declare(names.objs, ['batch', MAX_OBJS, m.outDim]);
      gate = g.op('Reshape', [declare(names.gate, ['batch']), g.constInt64([-1, 1, 1])]);
    },
    apply({ g, x, site }) {
      const t = site.transformerIndex;
      const mod = m.modules[t]!;
      // Every block of one SpatialTransformer uses the same module: its grounding keys are computed once.
      let k = keys.get(t);
      if (!k) keys.set(t, (k = groundingKeys(g, file!, mod, objs)));
      return gatedSelfAttention(g, file!, mod, x, k, gate);
    },
  };
}
