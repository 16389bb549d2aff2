import { WeftError } from '../../engine/errors.ts';
import { defineNode } from '../../engine/graph/node.ts';
import { ClipVisionModel } from '../../engine/models/clip-vision/index.ts';
import { asIpAdapter, type IpAdapterPipeline } from '../../engine/models/ipadapter/index.ts';
import { asSdModel } from '../../engine/models/sd/model.ts';
import IPAdapterModelLoader from './IPAdapterModelLoader.ts';

const PRESETS = ['LIGHT - SD1.5 only (low strength)', 'STANDARD (medium strength)', 'VIT-G (medium strength)', 'PLUS (high strength)', 'PLUS FACE (portraits)', 'FULL FACE - SD1.5 only (portraits stronger)'] as const;

/** File-name conventions of the published adapters and their image encoders (ViT-H for most, bigG for VIT-G). */
function patterns(preset: string, sdxl: boolean): { clipVision: RegExp; adapter: RegExp[] } {
  const p = preset.toLowerCase();
  const vitH = /(ViT.H.14.*s32B.b79K|ipadapter.*sd15|sd1.?5.*model\.(bin|safetensors))/i;
  const vitG = /(ViT.bigG.14.*39B.b160k|ipadapter.*sdxl|sdxl.*model\.(bin|safetensors))/i;
  const ext = '\\.(safetensors|bin)$';
  const only15 = (what: string): never => { throw new WeftError(`${what} is not available for SDXL models`, { input: 'preset' }); };
  const re = (s: string): RegExp => new RegExp(s + ext, 'i');
  if (p.startsWith('light')) return { clipVision: vitH, adapter: sdxl ? only15('the light adapter') : [re('sd15.light.v11'), re('sd15.light')] };
  if (p.startsWith('standard')) return { clipVision: vitH, adapter: [re(sdxl ? 'ip.adapter.sdxl.vit.h' : 'ip.adapter.sd15')] };
  if (p.startsWith('vit-g')) return { clipVision: vitG, adapter: [re(sdxl ? 'ip.adapter.sdxl' : 'sd15.vit.g')] };
  if (p.startsWith('plus (')) return { clipVision: vitH, adapter: [re(sdxl ? 'plus.sdxl.vit.h' : 'ip.adapter.plus.sd15')] };
  if (p.startsWith('plus face')) return { clipVision: vitH, adapter: [re(sdxl ? 'plus.face.sdxl.vit.h' : 'plus.face.sd15')] };
  if (p.startsWith('full')) return { clipVision: vitH, adapter: sdxl ? only15('the full face adapter') : [re('full.face.sd15')] };
  throw new WeftError(`unknown preset '${preset}'`, { input: 'preset', type: 'value_not_in_list' });
}

export default defineNode({
  name: 'IPAdapterUnifiedLoader',
  displayName: 'IPAdapter Unified Loader',
  category: 'ipadapter',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      preset: { type: 'COMBO', options: PRESETS },
    },
    optional: {
      ipadapter: { type: 'IPADAPTER' },
    },
  },
  outputs: [{ type: 'MODEL', name: 'model' }, { type: 'IPADAPTER', name: 'ipadapter' }],
  run: async ({ model, preset, ipadapter }, ctx) => {
    const m = asSdModel(model);
    const sdxl = m.family === 'sdxl' || m.family === 'sdxl_refiner';
    const pat = patterns(preset, sdxl);
    const folders = ctx.services.folders;
    const cvName = folders.listModels('clip_vision').find((n) => pat.clipVision.test(n));
    if (!cvName) throw new WeftError('ClipVision model not found.', { input: 'preset' });
    const list = folders.listModels('ipadapter');
    const ipName = pat.adapter.map((r) => list.find((n) => r.test(n))).find((n) => n !== undefined);
    if (!ipName) throw new WeftError('IPAdapter model not found.', { input: 'preset' });
    // A chained pipeline keeps its models when they are the same files.
    const prev = ipadapter ? asIpAdapter(ipadapter) : undefined;
    const cvPath = folders.resolveModel('clip_vision', cvName);
    const clipvision = prev?.clipVision?.path === cvPath ? prev.clipVision : ClipVisionModel.open(cvPath, { models: ctx.services.models });
    const [adapter] = (await IPAdapterModelLoader.run!({ ipadapter_file: ipName }, ctx)) as [IpAdapterPipeline['ipadapter']];
    const pipeline: IpAdapterPipeline = { ipadapter: adapter, clipvision };
    return [model, pipeline];
  },
});
