/**
 * Stand-ins for image-prompt files (used by tiny-models.ts): an IP-Adapter whose to_k_ip/to_v_ip pairs match
 * the cross-attention layers of the tiny checkpoint it is made for, and the CLIP vision tower it reads
 * (projection width = the adapter's image_proj input).
 */
import { writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { tinyHfVision } from '../../../engine/models/clip-vision/synthetic.ts';
import { Rng, sdCheckpointTensors, type SdFixtureOptions } from '../../../engine/models/fixtures/index.ts';
import { parseUNetConfig } from '../../../engine/models/unet/config.ts';
import { crossAttnSites } from '../../../engine/models/unet/graph.ts';

/** CLIP vision projection width shared by the two stand-ins. */
const PROJECTION = 8;

export function writeTinyClipVision(file: string): void {
  writeSafetensors(file, tinyHfVision({ width: 32, layers: 2, patch: 4, imageSize: 16, projection: PROJECTION }));
}

/** A plain IP-Adapter (4 tokens) for the checkpoint fixture `base`; ip_adapter.N numbered as the real files are. */
export function writeTinyIpAdapter(file: string, base: SdFixtureOptions, seed: number): void {
  const { tensors } = sdCheckpointTensors(base);
  const shapes = new Map(Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape }]));
  const cfg = parseUNetConfig({ tensors: shapes }, { prefix: 'model.diffusion_model.' });
  const order = { input: 0, output: 1, middle: 2 } as const;
  const sites = [...crossAttnSites(cfg)].sort((a, b) => order[a.block] - order[b.block] || a.id - b.id || a.depthIndex - b.depthIndex);
  const rng = new Rng(seed);
  const t = (shape: number[], std: number, mean = 0): TensorToWrite => ({ dtype: 'F32', shape, data: rng.fill(shape.reduce((a, b) => a * b, 1), std, mean) });
  const C = cfg.contextDim, T = 4;
  const out: Record<string, TensorToWrite> = {
    'image_proj.proj.weight': t([T * C, PROJECTION], 0.3), 'image_proj.proj.bias': t([T * C], 0.02),
    'image_proj.norm.weight': t([C], 0.02, 1), 'image_proj.norm.bias': t([C], 0.02),
  };
  sites.forEach((s, n) => {
    for (const kv of ['k', 'v']) out[`ip_adapter.${2 * n + 1}.to_${kv}_ip.weight`] = t([s.inner, C], 1 / Math.sqrt(C));
  });
  writeSafetensors(file, out);
}
