/**
 * One example of workflows/ run end to end on its tiny stand-ins, with what every example must do: convert
 * to an API prompt of known, titled node types, write images of the size the graph implies that embed the
 * prompt that ran and the UI workflow, and warn nothing. Skipped (null) when a node type or a stand-in does
 * not exist yet.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { RunResult } from '../../../engine/execute/executor.ts';
import { loadWorkflowFile, uiToApi, type ApiPrompt, type UiWorkflow } from '../../../engine/workflow/index.ts';
import { createRegistry } from '../../../nodes/index.ts';
import { expectedSize, freshExecutor, prepare, runOk, savedImages, unrunnableTypes, type Runner, type SavedImage } from './run.ts';

export interface ExampleRun { wf: UiWorkflow; prompt: ApiPrompt; res: RunResult; images: SavedImage[] }

export async function runExample(r: Runner, file: string, t: TestContext): Promise<ExampleRun | null> {
  const wf = (await loadWorkflowFile(file)).ui as UiWorkflow;
  assert.equal(wf.version, 0.4);
  const api = uiToApi(wf, createRegistry());
  assert.ok(Object.keys(api).length >= 5);
  for (const n of Object.values(api)) assert.ok(typeof n._meta?.title === 'string');
  const missing = unrunnableTypes(r.registry, api);
  if (missing.length) {
    t.skip(`node types not implemented yet: ${missing.join(', ')}`);
    return null;
  }
  const { prompt, tiny } = await prepare(r, api);
  if (tiny.unsupported.length) {
    t.skip(tiny.unsupported.join('; '));
    return null;
  }

  freshExecutor(r);
  const warned = r.warnings.length;
  const res = await runOk(r, path.basename(file), prompt, { workflow: wf });
  const images = savedImages(r, prompt, res);
  assert.ok(images.length > 0);
  for (const img of images) {
    const src = prompt[img.nodeId]!.inputs.images as [string, number];
    assert.deepEqual(img.size, expectedSize(prompt, src[0], r.env.folders.inputDir, src[1]), `${img.classType} ${img.nodeId}`);
    assert.deepEqual(JSON.parse(img.text.prompt!), prompt);
    assert.equal(JSON.parse(img.text.workflow!).nodes.length, wf.nodes.length);
  }
  assert.deepEqual(r.warnings.slice(warned), []);
  return { wf, prompt, res, images };
}
