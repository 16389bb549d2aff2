/**
 * What the add-on examples (scripts/workflow-addons.ts) are for, checked on their tiny stand-ins: each compares
 * the example's picture with the same graph where the add-on does nothing (strength 0, no boxes, no adapter),
 * by decoded pixels. Node ids are the ones the specs give.
 */
import assert from 'node:assert/strict';
import type { ApiPrompt } from '../../../engine/workflow/index.ts';
import { meanDiff, raw } from './pixels.ts';
import { runOk, savedImages, type Runner, type SavedImage } from './run.ts';

export interface AddonCheck {
  what: string;
  check: (r: Runner, prompt: ApiPrompt, images: SavedImage[]) => Promise<void>;
}

/** The first picture of the example's graph after `edit`. */
async function variant(r: Runner, id: string, prompt: ApiPrompt, edit: (p: ApiPrompt) => void): Promise<Buffer> {
  const p = structuredClone(prompt);
  edit(p);
  return savedImages(r, p, await runOk(r, id, p))[0]!.bytes;
}

async function samePixels(a: Buffer, b: Buffer): Promise<boolean> {
  return (await raw(a)).data.equals((await raw(b)).data);
}

/** The example's picture differs from `off` by at least `min` 8-bit levels on average. */
async function differs(images: SavedImage[], off: Buffer, min: number, what: string): Promise<void> {
  const d = await meanDiff(images[0]!.bytes, off);
  assert.ok(d >= min, `${what}: mean difference ${d.toFixed(3)} < ${min}`);
}

export const ADDON_CHECKS: Record<string, AddonCheck> = {
  'hypernetwork.json': {
    what: 'the picture differs from strength 0',
    check: async (r, prompt, images) => {
      const off = await variant(r, 'hn-0', prompt, (p) => { p['8']!.inputs.strength = 0; });
      await differs(images, off, 1, 'the hypernetwork changes the picture');
    },
  },
  'controlnet-union-sdxl.json': {
    what: 'the picture differs from strength 0 and from the union model without a type',
    check: async (r, prompt, images) => {
      const off = await variant(r, 'union-0', prompt, (p) => { p['11']!.inputs.strength = 0; });
      await differs(images, off, 1, 'the union ControlNet steers the picture');
      const auto = await variant(r, 'union-auto', prompt, (p) => { p['11']!.inputs.control_net = ['10', 0]; });
      await differs(images, auto, 1, 'the control type matters');
    },
  },
  'flux-lora.json': {
    what: 'the picture differs from LoRA strength 0',
    check: async (r, prompt, images) => {
      const off = await variant(r, 'flux-lora-0', prompt, (p) => { p['10']!.inputs.strength_model = 0; });
      await differs(images, off, 1, 'the LoRA changes the picture');
    },
  },
  'gligen-textbox.json': {
    what: 'the picture differs from the prompt without boxes',
    check: async (r, prompt, images) => {
      const off = await variant(r, 'gligen-none', prompt, (p) => { p['5']!.inputs.positive = ['2', 0]; });
      await differs(images, off, 1, 'the text boxes steer the picture');
    },
  },
  'ipadapter-attn-mask.json': {
    what: 'the half mask is neither no adapter nor the unmasked adapter; the mask graph all off / all on is exactly those',
    check: async (r, prompt, images) => {
      const none = await variant(r, 'ip-none', prompt, (p) => { p['5']!.inputs.model = ['1', 0]; });
      const unmasked = await variant(r, 'ip-unmasked', prompt, (p) => { delete p['11']!.inputs.attn_mask; });
      await differs(images, none, 1, 'the adapter acts');
      await differs(images, unmasked, 1, 'the mask limits the adapter');
      // Which half moves most is not asked: on the tiny UNet and VAE it follows the mask for most seeds, not all.
      const allOff = await variant(r, 'ip-off', prompt, (p) => { p['13']!.inputs.value = 0; });
      assert.ok(await samePixels(allOff, none), 'the composite mask all off is the picture without the adapter');
      const allOn = await variant(r, 'ip-on', prompt, (p) => { p['12']!.inputs.value = 1; });
      assert.ok(await samePixels(allOn, unmasked), 'the composite mask all on is the unmasked adapter');
    },
  },
};
