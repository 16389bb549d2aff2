/**
 * T2I-Adapters through ControlNetLoader (ComfyUI returns them as CONTROL_NET too): the loaded value is a
 * ControlNetModel carrying its T2ISpec, so the apply nodes, chaining and percent ranges are the ControlNet
 * ones. At sampling time the features are computed once per hint size and batch (ComfyUI keeps its
 * `control_input` until the latent size changes) and handed back as residuals on the input-block slots.
 */
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { ModelHandle, ModelService } from '../../runtime/service.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { RenamedSource } from '../diffusers/source.ts';
import { fileIdentity } from '../lora/cache.ts';
import type { UNetCall } from '../sd/model.ts';
import { prepareHint } from '../controlnet/load.ts';
import type { ControlApplication, ControlNetModel } from '../controlnet/socket.ts';
import { buildT2IAdapter } from './graph.ts';
import type { Residuals } from './residuals.ts';
import { t2iRenamer, t2iSpec, type T2ISpec } from './spec.ts';

export { isT2IAdapter } from './spec.ts';

function openRenamed(st: string): RenamedSource {
  const f = SafetensorsFile.open(st);
  try {
    return new RenamedSource(f, t2iRenamer(f.keys()));
  } catch (e) {
    f.close();
    throw e;
  }
}

/** The CONTROL_NET value of a T2I-Adapter file (`st`: its safetensors, converted when it was a .pth). */
export function loadT2IAdapter(file: string, st: string): ControlNetModel & { t2i: T2ISpec } {
  const src = openRenamed(st);
  let spec: T2ISpec;
  try {
    spec = t2iSpec(src.tensors, file);
  } finally {
    src.close();
  }
  return { kind: 'controlnet', path: file, prefix: '', key: `t2i|${fileIdentity(st)}`, heads: {}, globalAveragePooling: false, t2i: spec, open: () => openRenamed(st) };
}

/** ComfyUI's scale_image_to: the hint's pixel size, the latent's ×8 rounded up to the unshuffle factor. */
export function hintSize(spec: T2ISpec, latentH: number, latentW: number): [number, number] {
  const up = (n: number): number => Math.ceil((n * 8) / spec.unshuffle) * spec.unshuffle;
  return [up(latentH), up(latentW)];
}

const sessions = new WeakMap<ModelService, Map<string, Promise<{ handle: ModelHandle; outputs: string[] }>>>();

/** The adapter's session for one hint size (small graphs; one per size a run meets). */
function adapterSession(service: ModelService, net: ControlNetModel & { t2i: T2ISpec }, H: number, W: number): Promise<{ handle: ModelHandle; outputs: string[] }> {
  let byKey = sessions.get(service);
  if (!byKey) sessions.set(service, (byKey = new Map()));
  const key = `${net.key}|${H}x${W}`;
  let p = byKey.get(key);
  if (!p) {
    p = (async () => {
      const src = net.open();
      let built, size = 0;
      try {
        built = buildT2IAdapter(src, net.t2i, H, W);
        for (const t of src.tensors.values()) size += t.shape.reduce((a, b) => a * b, 1) * 4;
      } finally {
        src.close();
      }
      const handle = await service.load(key, { graph: built.bytes, weightsDir: built.weightsDir, sizeBytes: Math.max(size, 1 << 20) });
      return { handle, outputs: built.outputs };
    })();
    p.catch(() => byKey!.delete(key));
    byKey.set(key, p);
  }
  return p;
}

/** IMAGE [N,H,W,C] → the adapter's channel count (ComfyUI averages RGB for 1-channel adapters). */
function adapterImage(image: Tensor, channels: number, file: string): Tensor {
  const C = image.shape[3]!;
  if (C === channels) return image;
  if (channels !== 1) throw new WeftError(`image: the control image has ${C} channels, ${path.basename(file)} takes ${channels}`, { input: 'image' });
  const n = image.data.length / C;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += image.data[i * C + c]!;
    data[i] = s / C;
  }
  return { shape: [...image.shape.slice(0, 3), 1], data };
}

const features = new WeakMap<ControlApplication, Map<string, Promise<Tensor[]>>>();

/** The adapter's four features for this call's size and batch, computed once per application. */
export function t2iFeatures(app: ControlApplication, call: UNetCall, groups: number, service: ModelService): Promise<Tensor[]> {
  const net = app.net as ControlNetModel & { t2i: T2ISpec };
  const [B, , h, w] = call.x.shape as [number, number, number, number];
  const [H, W] = hintSize(net.t2i, h, w);
  let m = features.get(app);
  if (!m) features.set(app, (m = new Map()));
  const key = `${B}x${H}x${W}/${groups}`;
  let p = m.get(key);
  if (!p) {
    if (m.size > 4) m.clear(); // a handful of sizes per run (areas); never grow without bound
    p = (async () => {
      const hint = prepareHint(adapterImage(app.image, net.t2i.imageChannels, net.path), B, H / 8, W / 8, groups);
      const s = await adapterSession(service, net, H, W);
      const out = await s.handle.run({ hint: { type: 'float32', dims: [...hint.shape], data: hint.data } });
      return s.outputs.map((n) => ({ shape: out[n]!.dims, data: out[n]!.data as Float32Array }));
    })();
    p.catch(() => m!.delete(key));
    m.set(key, p);
  }
  return p;
}

/** Unscaled residual slots of one T2I application (see residuals.ts for the layout). */
export async function t2iResiduals(app: ControlApplication, call: UNetCall, groups: number, service: ModelService): Promise<Residuals> {
  const spec = (app.net as ControlNetModel & { t2i: T2ISpec }).t2i;
  const feats = await t2iFeatures(app, call, groups, service);
  const N = spec.inputBlocks;
  const out: Residuals = new Array(2 * N + 1).fill(undefined);
  spec.targets.forEach((block, level) => (out[block < 0 ? N : N + 1 + block] = feats[level]));
  return out;
}
