/**
 * First run against the real server: a models folder holding only the demo checkpoint `weft serve`
 * writes. The model manager opens on the catalogue, the default workflow is pointed at the demo with a
 * visible "images are noise" badge, and the Examples menu lists workflows/index.json and loads one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { DEMO_CHECKPOINT, ensureDemoCheckpoint } from '../../../engine/models/demo.ts';
import { ARTIFACTS, ROOT, startHarness, type Harness } from './harness.ts';
import { widgetValue } from './widgets.ts';

let h: Harness;
let page: Page;
let errors: string[];

before(async () => {
  h = await startHarness({ prepareModels: (dir) => void ensureDemoCheckpoint(dir) });
  ({ page, errors } = await h.open());
});
after(async () => {
  await h?.close();
});

test('with only the demo checkpoint the model manager opens and the default graph runs on the demo, badged', async () => {
  await page.waitForSelector('.models-panel li');
  const names = await page.locator('.models-panel li .model-name').allTextContents();
  assert.ok(names.length >= 5, names.join(', '));
  assert.ok(await page.locator('.models-panel li button', { hasText: 'Download' }).count() >= 5, 'catalogue entries can be downloaded');
  assert.match((await page.textContent('.models-panel .first-run')) ?? '', /images are noise/);
  assert.equal(await widgetValue(page, '4', 'ckpt_name'), DEMO_CHECKPOINT);
  assert.equal(await page.textContent('[data-testid=demo-badge]'), 'demo model: images are noise');
  await page.waitForTimeout(100);
  await page.screenshot({ path: join(ARTIFACTS, 'first-run.png') });
  assert.deepEqual(errors, []);
});

test('picking another checkpoint removes the badge; undo brings it back', async () => {
  await page.evaluate(() => {
    const { editor, controller } = (window as any).__weft;
    editor.setWidgetValue('4', 'ckpt_name', 'some-other.safetensors');
    controller.maybeChanged();
  });
  await page.waitForSelector('[data-testid=demo-badge]', { state: 'detached' });
  await page.evaluate(() => (window as any).__weft.run('undo'));
  await page.waitForSelector('[data-testid=demo-badge]');
});

test('the Examples menu lists workflows/index.json and loads the picked example', async () => {
  const index = JSON.parse(readFileSync(join(ROOT, 'workflows/index.json'), 'utf8')) as { file: string; title: string }[];
  const options = await page.locator('select[aria-label=Examples] option').allTextContents();
  // The menu's own two entries, then the catalogue in its order.
  assert.deepEqual(options, ['Examples…', 'Default txt2img', ...index.map((e) => e.title)]);

  const file = 'img2img.json';
  const wf = JSON.parse(readFileSync(join(ROOT, 'workflows', file), 'utf8')) as { nodes: { id: number; type: string }[] };
  await page.selectOption('select[aria-label=Examples]', file);
  await page.waitForFunction(() => (window as any).__weft.store.getState().workflowName === 'img2img');
  const types = await page.evaluate(() => (window as any).__weft.editor.graph.nodes.map((n: any) => n.type).sort());
  assert.deepEqual(types, wf.nodes.map((n) => n.type).sort());
  // Its checkpoint is missing too, and the demo is all there is: it runs on the demo, badged.
  const loader = wf.nodes.find((n) => n.type === 'CheckpointLoaderSimple')!;
  assert.equal(await widgetValue(page, String(loader.id), 'ckpt_name'), DEMO_CHECKPOINT);
  await page.waitForSelector('[data-testid=demo-badge]');
  await page.waitForTimeout(100);
  await page.screenshot({ path: join(ARTIFACTS, 'first-run-example.png') });
  assert.deepEqual(errors, []);
});
