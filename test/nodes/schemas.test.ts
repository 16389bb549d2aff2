import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allNodes, createRegistry } from '../../nodes/index.ts';
import { SAMPLER_NAMES, SCHEDULER_NAMES } from '../../engine/sampling/names.ts';

const env = {
  listModels: (folder: string) => (folder === 'vae_approx' ? ['taesd_encoder.pth', 'taesd_decoder.pth', 'taesdxl_decoder.pth'] : [`${folder}-a.safetensors`]),
  listInput: () => ['in.png'],
};

test('object_info for KSampler has ComfyUI\'s shape: input order, seed range, control, combos', () => {
  const info = createRegistry().objectInfo(env) as Record<string, any>;
  const k = info.KSampler;
  assert.deepEqual(k.input_order.required, ['model', 'seed', 'steps', 'cfg', 'sampler_name', 'scheduler', 'positive', 'negative', 'latent_image', 'denoise']);
  assert.equal(k.input.required.seed[0], 'INT');
  assert.equal(k.input.required.seed[1].max, 18446744073709551615n);
  assert.equal(k.input.required.seed[1].control_after_generate, true);
  assert.deepEqual(k.input.required.cfg, ['FLOAT', { default: 8, min: 0, max: 100, step: 0.1, round: 0.01 }]);
  assert.deepEqual(k.input.required.sampler_name[0], [...SAMPLER_NAMES]);
  assert.deepEqual(k.input.required.scheduler[0], [...SCHEDULER_NAMES]);
  assert.deepEqual(k.input.required.model, ['MODEL', {}]);
  assert.deepEqual(k.output, ['LATENT']);
  assert.equal(k.category, 'sampling');
  assert.equal(k.output_node, false);
});

test('EmptyLatentImage defaults and bounds; loaders list their model folders', () => {
  const info = createRegistry().objectInfo(env) as Record<string, any>;
  const e = info.EmptyLatentImage;
  assert.deepEqual(e.input.required.width, ['INT', { default: 512, min: 16, max: 16384, step: 8 }]);
  assert.deepEqual(e.input.required.batch_size, ['INT', { default: 1, min: 1, max: 4096 }]);
  assert.equal(e.display_name, 'Empty Latent Image');
  assert.deepEqual(info.CheckpointLoaderSimple.input.required.ckpt_name[0], ['checkpoints-a.safetensors']);
  assert.deepEqual(info.CheckpointLoaderSimple.output, ['MODEL', 'CLIP', 'VAE']);
  assert.deepEqual(info.UNETLoader.input.required.unet_name[0], ['diffusion_models-a.safetensors']);
  assert.deepEqual(info.DualCLIPLoader.input_order, { required: ['clip_name1', 'clip_name2', 'type'], optional: ['device'] });
  // taesd has both halves, taesdxl only a decoder.
  assert.deepEqual(info.VAELoader.input.required.vae_name[0], ['vae-a.safetensors', 'taesd', 'pixel_space']);
  assert.equal(info.RandomNoise.input.required.noise_seed[1].control_after_generate, true);
  assert.deepEqual(info.SamplerCustomAdvanced.output_name, ['output', 'denoised_output']);
  assert.deepEqual(info.CLIPTextEncode.input.required.text, ['STRING', { multiline: true, dynamicPrompts: true }]);
  assert.equal(info.ControlNetApply.deprecated, true);
});

test('every schema is well formed: unique names, categories, defaults within bounds', () => {
  const names = new Set<string>();
  for (const d of allNodes) {
    assert.ok(!names.has(d.name), `${d.name} declared twice`);
    names.add(d.name);
    assert.ok(d.category, `${d.name} has a category`);
    for (const [input, spec] of Object.entries({ ...d.inputs.required, ...d.inputs.optional })) {
      const s = spec as { type: string; default?: number | bigint; min?: number | bigint; max?: number | bigint; options?: unknown };
      if ((s.type === 'INT' || s.type === 'FLOAT') && s.default !== undefined) {
        if (s.min !== undefined) assert.ok(s.default >= s.min, `${d.name}.${input} default below min`);
        if (s.max !== undefined) assert.ok(s.default <= s.max, `${d.name}.${input} default above max`);
      }
      if (s.type === 'COMBO') assert.ok(s.options, `${d.name}.${input} has options`);
    }
  }
  assert.ok(names.size >= 100, `only ${names.size} node types`);
});
