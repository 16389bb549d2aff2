/**
 * The adapter's image projection as an ONNX graph: CLIP vision features → image-prompt tokens [B, T, C].
 *   plain (ImageProjModel): LayerNorm(Linear(image_embeds).reshape(B, T, C))
 *   plus (Resampler): learned latents [T, dim] cross-attend to proj_in(penultimate states) through `depth`
 *     perceiver layers (attention over [x; latents] with 64-wide heads, then a GELU feed-forward, both
 *     residual), then proj_out and norm_out.
 *   full (MLPProjModel): Linear → GELU → Linear → LayerNorm over every penultimate position.
 * Sizes come from tensor shapes; heads of the Resampler = inner width / 64 (12 for SD1.5, 20 for SDXL, as
 * the reference hard-codes).
 */
import { SafetensorsFile } from '../../io/safetensors.ts';
import { GraphBuilder } from '../../onnx/index.ts';
import * as L from '../layers/index.ts';
import type { ModelService } from '../../runtime/service.ts';
import { tensor, type Tensor } from '../../tensor/tensor.ts';
import { WeftError } from '../../errors.ts';
import { graphRunner, memoRunner, type GraphRunner } from '../clip-vision/runner.ts';
import type { IpAdapterModel } from './file.ts';

const DIM_HEAD = 64;

function countLayers(f: SafetensorsFile, prefix: string): number {
  let n = 0;
  while (f.has(`${prefix}layers.${n}.0.to_q.weight`)) n++;
  return n;
}

/** One PerceiverAttention: latents attend to [norm1(x); norm2(latents)]. */
function perceiverAttention(g: GraphBuilder, f: SafetensorsFile, p: string, x: string, latents: string): string {
  const xn = L.layerNorm(g, f, `${p}.norm1`, x);
  const ln = L.layerNorm(g, f, `${p}.norm2`, latents);
  const inner = g.shapeOf(f, `${p}.to_q.weight`)[0]!;
  if (inner % DIM_HEAD !== 0) throw new WeftError(`${f.path}: ${p}.to_q has ${inner} rows, not a multiple of ${DIM_HEAD}-wide heads`, { file: f.path });
  const q = L.linear(g, f, `${p}.to_q`, ln);
  const kvIn = g.op('Concat', [xn, ln], { axis: 1 });
  const k = L.linear(g, f, `${p}.to_kv`, kvIn, { rows: [0, inner] });
  const v = L.linear(g, f, `${p}.to_kv`, kvIn, { rows: [inner, 2 * inner] });
  // The reference scales q and k by dim_head^-1/4 each: the same 1/sqrt(dim_head) as MHA's default.
  return L.linear(g, f, `${p}.to_out`, L.attention(g, q, k, v, inner / DIM_HEAD));
}

export function buildProjectionGraph(f: SafetensorsFile, m: IpAdapterModel): GraphBuilder {
  const g = new GraphBuilder({ name: 'ipadapter_projection' });
  const p = m.projPrefix;
  let out: string;
  if (m.kind === 'plain') {
    const embeds = g.input('embeds', 'float32', ['batch', g.shapeOf(f, `${p}proj.weight`)[1]!]);
    const C = g.shapeOf(f, `${p}norm.weight`)[0]!;
    const flat = L.linear(g, f, `${p}proj`, embeds);
    out = L.layerNorm(g, f, `${p}norm`, g.op('Reshape', [flat, g.constInt64([-1, m.tokens, C])]));
  } else if (m.kind === 'full') {
    const embeds = g.input('embeds', 'float32', ['batch', 'positions', g.shapeOf(f, `${p}proj.0.weight`)[1]!]);
    const h = L.gelu(g, L.linear(g, f, `${p}proj.0`, embeds));
    out = L.layerNorm(g, f, `${p}proj.3`, L.linear(g, f, `${p}proj.2`, h));
  } else {
    const embeds = g.input('embeds', 'float32', ['batch', 'positions', g.shapeOf(f, `${p}proj_in.weight`)[1]!]);
    const [, T, dim] = g.shapeOf(f, `${p}latents`) as [number, number, number];
    const x = L.linear(g, f, `${p}proj_in`, embeds);
    // latents.repeat(B, 1, 1)
    const bShape = g.op('Concat', [g.op('Shape', [embeds], { start: 0, end: 1 }), g.constInt64([T, dim])], { axis: 0 });
    let lat = g.op('Expand', [g.weight(f, `${p}latents`), bShape]);
    const depth = countLayers(f, p);
    for (let i = 0; i < depth; i++) {
      const lp = `${p}layers.${i}`;
      lat = g.op('Add', [perceiverAttention(g, f, `${lp}.0`, x, lat), lat]);
      const ff = L.linear(g, f, `${lp}.1.3`, L.gelu(g, L.linear(g, f, `${lp}.1.1`, L.layerNorm(g, f, `${lp}.1.0`, lat))));
      lat = g.op('Add', [ff, lat]);
    }
    out = L.layerNorm(g, f, `${p}norm_out`, L.linear(g, f, `${p}proj_out`, lat));
  }
  g.output(out, 'tokens', 'float32', ['batch', 'tokens', m.contextDim]);
  return g;
}

function runnerFor(m: IpAdapterModel, models?: ModelService): GraphRunner {
  return memoRunner(`ipadapter_proj:${m.path}`, models, () => {
    const f = SafetensorsFile.open(m.path);
    try {
      return graphRunner(buildProjectionGraph(f, m), `ipadapter_proj:${m.path}`, `IP-Adapter projection (${m.path})`, { models, threads: models ? undefined : 1, sizeBytes: f.fileSize * 2 + (16 << 20) });
    } finally {
      f.close();
    }
  });
}

/** image_embeds [B, D] (plain) or penultimate states [B, S, D] (plus, full) → tokens [B, T, C]. */
export async function projectImage(m: IpAdapterModel, embeds: Tensor, models?: ModelService): Promise<Tensor> {
  const want = m.kind === 'plain' ? 2 : 3;
  if (embeds.shape.length !== want) {
    throw new WeftError(`${m.path}: a ${m.kind} IP-Adapter projects ${want === 2 ? 'image_embeds [B, D]' : 'penultimate hidden states [B, S, D]'}, got [${embeds.shape.join(', ')}]`, { file: m.path });
  }
  const r = await runnerFor(m, models).run({ embeds: { data: embeds.data, dims: embeds.shape } });
  const t = r.tokens!;
  return tensor(t.dims, t.data);
}
