/**
 * Weft's own example workflows (workflows/*.json, built by scripts/make-workflows.ts): each file parses,
 * converts to an API prompt with only known node types, is listed in index.json, and, where all its nodes
 * run and tiny stand-ins exist for its models, runs end to end (support/) with a check of what its
 * technique is for. The add-on examples (support/addon-checks.ts) run in workflows-addons.test.ts instead.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { ApiPrompt } from '../../engine/workflow/index.ts';
import { buildWorkflows } from '../../scripts/make-workflows.ts';
import { ADDON_CHECKS } from './support/addon-checks.ts';
import { runExample } from './support/example.ts';
import { diffByMask, raw } from './support/pixels.ts';
import { createRunner, expectedSize, runOk, savedImages, type Runner, type SavedImage } from './support/run.ts';

const dir = path.resolve(import.meta.dirname, '../../workflows');
const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as Array<{ file: string; title: string; description: string; technique: string }>;
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'index.json').sort();
let runner: Runner;

before(() => {
  runner = createRunner();
});

test('index.json lists every workflow file once, with a title, description and technique; the files are what the script builds', () => {
  assert.deepEqual(index.map((e) => e.file).sort(), files);
  for (const e of index) assert.ok(e.title && e.description && e.technique, JSON.stringify(e));
  for (const { spec, ui } of buildWorkflows()) {
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, spec.file), 'utf8')), JSON.parse(JSON.stringify(ui)), `${spec.file} is stale: run scripts/make-workflows.ts`);
  }
});

/** The picture a LoadImage of `prompt` reads, through the same checkpoint's VAE and back. */
async function roundTrip(prompt: ApiPrompt, image: string): Promise<SavedImage> {
  const ckpt = Object.values(prompt).find((n) => n.class_type === 'CheckpointLoaderSimple')!;
  const rt: ApiPrompt = {
    1: ckpt, 2: { class_type: 'LoadImage', inputs: { image } },
    3: { class_type: 'VAEEncode', inputs: { pixels: ['2', 0], vae: ['1', 2] } },
    4: { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['1', 2] } },
    5: { class_type: 'SaveImage', inputs: { images: ['4', 0], filename_prefix: 'roundtrip' } },
  };
  return savedImages(runner, rt, await runOk(runner, `rt-${image}`, rt))[0]!;
}

/** Transparent pixels of an input image (LoadImage's mask = 1 − alpha). */
async function alphaMask(file: string): Promise<(x: number, y: number) => boolean> {
  const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return (x, y) => data[(y * info.width + x) * 4 + 3]! < 128;
}

type Check = (prompt: ApiPrompt, images: SavedImage[]) => Promise<void>;
const byId = (images: SavedImage[], id: string) => images.find((i) => i.nodeId === id)!;
const inputOf = (prompt: ApiPrompt) => String(Object.values(prompt).find((n) => n.class_type === 'LoadImage')!.inputs.image);

/**
 * The change concentrates in the mask. The tiny VAE is random (its round trip does not reproduce the input)
 * and its decoder's attention mixes every latent into every pixel, so "unmasked pixels unchanged" cannot be
 * asked literally: the masked area must move away from the VAE round trip clearly more than the rest, and,
 * for a noise-masked latent, clearly more than when the same graph runs without the mask.
 */
async function maskRatio(prompt: ApiPrompt, out: Buffer): Promise<number> {
  const image = inputOf(prompt);
  const rt = await roundTrip(prompt, image);
  const d = await diffByMask(out, rt.bytes, await alphaMask(path.join(runner.env.folders.inputDir, image)));
  return d.inside / d.outside;
}
const keepsUnmasked: Check = async (prompt, images) => {
  const ratio = await maskRatio(prompt, images[0]!.bytes);
  assert.ok(ratio > 1.4, `masked area changed ${ratio.toFixed(2)}× as much as the rest`);
  const [maskId] = Object.entries(prompt).find(([, n]) => n.class_type === 'SetLatentNoiseMask') ?? [];
  if (!maskId) return;
  const p = structuredClone(prompt);
  p['5']!.inputs.latent_image = p[maskId]!.inputs.samples;
  const unmasked = savedImages(runner, p, await runOk(runner, `nomask-${maskId}`, p))[0]!;
  const control = await maskRatio(prompt, unmasked.bytes);
  assert.ok(ratio > control + 0.2, `with the mask ${ratio.toFixed(2)}×, without ${control.toFixed(2)}×`);
};

const CHECKS: Record<string, Check> = {
  'img2img.json': async (prompt) => {
    // denoise 0 runs no step: the output is the input through the VAE and back.
    const p = structuredClone(prompt);
    p['5']!.inputs.denoise = 0;
    const out = savedImages(runner, p, await runOk(runner, 'img2img-d0', p))[0]!;
    const rt = await roundTrip(prompt, inputOf(prompt));
    const d = await diffByMask(out.bytes, rt.bytes, () => false);
    assert.ok(d.outside <= 0.5, `denoise 0 differs from the VAE round trip by ${d.outside}`);
  },
  'inpaint-vae-encode.json': keepsUnmasked,
  'inpaint-model-conditioning.json': keepsUnmasked,
  'masked-original.json': keepsUnmasked,
  'masked-latent-noise.json': keepsUnmasked,
  'masked-latent-nothing.json': keepsUnmasked,
  'hires-fix.json': async (_p, images) => {
    const [first, second] = [byId(images, '7'), byId(images, '11')];
    assert.deepEqual(second.size, [first.size[0] * 2, first.size[1] * 2]);
  },
  'esrgan-upscale.json': async (_p, images) => {
    const [before, after] = [byId(images, '7'), byId(images, '10')];
    assert.deepEqual(after.size, [before.size[0] * 4, before.size[1] * 4]);
  },
  'outpaint.json': async (prompt, images) => {
    const pad = prompt['9']!.inputs;
    const src = expectedSize(prompt, '8', runner.env.folders.inputDir);
    assert.ok(Number(pad.top) > 0 && Number(pad.right) > 0);
    assert.deepEqual(images[0]!.size, [src[0] + Number(pad.right), src[1] + Number(pad.top)], 'the canvas grew by the padding');
  },
  'lora.json': async (prompt, images) => {
    const p = structuredClone(prompt);
    Object.assign(p['8']!.inputs, { strength_model: 0, strength_clip: 0 });
    const plain = savedImages(runner, p, await runOk(runner, 'lora-off', p))[0]!;
    assert.ok(!(await raw(plain.bytes)).data.equals((await raw(images[0]!.bytes)).data), 'the LoRA changes the picture');
  },
};

for (const file of files.filter((f) => !ADDON_CHECKS[f])) {
  test(`workflow ${file}: converts with known node types; runs on tiny models when it can`, async (t) => {
    const run = await runExample(runner, path.join(dir, file), t);
    if (!run) return;
    if (file === 'interrogate-regenerate.json') {
      const said = (run.res.outputs['10'] as { text?: string[] }).text?.[0] ?? '';
      assert.ok(said.trim().length > 0, 'the interrogator produced a prompt');
    }
    await CHECKS[file]?.(run.prompt, run.images);
  });
}
