/**
 * ComfyUI's own example workflows (../shared/comfy-examples), loaded from their UI files, converted to API
 * prompts by uiToApi, shrunk (support/shrink.ts) and run through the real executor on tiny stand-in models
 * written under the exact file names they ask for. An example whose node types are not all runnable yet,
 * or that names a model no tiny stand-in exists for, is skipped with the reason, computed at run time, so
 * it starts running by itself when those nodes land.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadWorkflowFile, uiToApi, type ApiPrompt, type UiWorkflow } from '../../engine/workflow/index.ts';
import {
  createRunner, expectedSize, freshExecutor, prepare, runOk, savedImages, SHARED_EXAMPLES, unrunnableTypes, type Runner,
} from './support/run.ts';

const dir = path.join(SHARED_EXAMPLES, 'workflows');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.workflow.json')).sort() : [];
let runner: Runner;

before(() => {
  if (files.length) runner = createRunner();
});

if (files.length === 0) test('ComfyUI example workflows', (t) => t.skip(`${dir} not found (a clone without ../shared)`));

/** Width ratio of the original (unshrunk) LatentUpscale target to the first pass, for the hires-fix check. */
function upscaleRatio(api: ApiPrompt): number {
  const up = Object.values(api).find((n) => n.class_type === 'LatentUpscale')!;
  const empty = Object.values(api).find((n) => n.class_type === 'EmptyLatentImage')!;
  return Number(up.inputs.width) / Number(empty.inputs.width);
}

for (const file of files) {
  const name = file.replace(/\.workflow\.json$/, '');
  test(`example ${name}: runs on tiny models, writes the expected sizes, embeds the prompt, re-runs from cache`, async (t) => {
    const loaded = await loadWorkflowFile(path.join(dir, file));
    const wf = loaded.ui as UiWorkflow;
    assert.ok(wf, 'the file holds a UI workflow');
    const api = uiToApi(wf, runner.registry);
    // The converted prompt has the node ids and types ComfyUI itself queued with this file.
    const shipped = path.join(dir, `${name}.prompt.json`);
    if (fs.existsSync(shipped)) {
      const ref = JSON.parse(fs.readFileSync(shipped, 'utf8')) as ApiPrompt;
      const types = (p: ApiPrompt) => Object.fromEntries(Object.entries(p).map(([id, n]) => [id, n.class_type]));
      assert.deepEqual(types(api), types(ref));
    }
    const missing = unrunnableTypes(runner.registry, api);
    if (missing.length) return t.skip(`node types not implemented yet: ${missing.join(', ')}`);
    const { prompt, tiny } = await prepare(runner, api);
    if (tiny.unsupported.length) return t.skip(tiny.unsupported.join('; '));

    const executor = freshExecutor(runner);
    const warningsBefore = runner.warnings.length;
    const res = await runOk(runner, name, prompt, { workflow: wf });
    const images = savedImages(runner, prompt, res);
    assert.ok(images.length > 0, 'an output node wrote an image');
    for (const img of images) {
      const src = prompt[img.nodeId]!.inputs.images as [string, number];
      assert.deepEqual(img.size, expectedSize(prompt, src[0], runner.env.folders.inputDir, src[1]), `${img.classType} ${img.nodeId} size`);
      assert.deepEqual(JSON.parse(img.text.prompt!), prompt, 'the PNG embeds the executed prompt');
      assert.equal(JSON.parse(img.text.workflow!).nodes.length, wf.nodes.length, 'the PNG embeds the UI workflow');
    }
    assert.deepEqual(runner.warnings.slice(warningsBefore), [], 'no node warned (models, LoRA keys, embeddings all matched)');

    if (/hiresfix/.test(name)) {
      const [first, second] = images;
      assert.equal(second!.size[0] / first!.size[0], upscaleRatio(api), 'the hires pass is the LatentUpscale factor larger');
    }
    if (/esrgan/.test(name)) {
      const up = Object.values(prompt).find((n) => n.class_type === 'ImageUpscaleWithModel')!;
      const decoded = expectedSize(prompt, (up.inputs.image as [string, number])[0], runner.env.folders.inputDir);
      assert.deepEqual(images[0]!.size, [decoded[0] * 2, decoded[1] * 2], 'RealESRGAN_x2 doubles the decoded image');
    }

    const again = await executor.execute(`${name}-again`, prompt, { extraPngInfo: { workflow: wf } });
    assert.equal(again.status, 'success');
    assert.deepEqual(again.executed, [], 'nothing changed: every node comes from the cache');
  });
}
