/**
 * The app runs a real (tiny) model end to end: the real server with the real model runtime over a temp
 * models folder holding a tiny SD1 checkpoint, the editor in Chromium, ComfyUI's default graph edited
 * through its widgets, Ctrl+Enter, then progress, latent previews, the saved image and the history.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { writeSdCheckpoint } from '../../../engine/models/fixtures/sd.ts';
import { ARTIFACTS, startHarness, type Harness } from './harness.ts';
import { pickComboValue, setNumberWidget, widgetValue } from './widgets.ts';

const CKPT = 'tiny-sd15.safetensors';
let h: Harness;
let page: Page;
let errors: string[];

before(async () => {
  h = await startHarness({
    models: true,
    // A real 8× VAE (four levels, GroupNorm-friendly width): 64×64 images from an 8×8 latent.
    prepareModels: (dir) => {
      mkdirSync(join(dir, 'checkpoints'), { recursive: true });
      writeSdCheckpoint(join(dir, 'checkpoints', CKPT), { family: 'sd1', seed: 21, vaeCh: 32, vaeChMult: [1, 1, 1, 1] });
    },
  });
  ({ page, errors } = await h.open());
});
after(async () => {
  await h?.close();
});

test('the default graph, set up through its widgets, runs on a tiny checkpoint with progress, previews and a saved image', async () => {
  assert.equal(await widgetValue(page, '4', 'ckpt_name'), 'v1-5-pruned-emaonly-fp16.safetensors');
  assert.equal(await page.$('[data-testid=demo-badge]'), null, 'a real checkpoint is installed: no demo badge');
  await pickComboValue(page, '4', 'ckpt_name', CKPT);
  await setNumberWidget(page, '5', 'width', 64);
  await setNumberWidget(page, '5', 'height', 64);
  await setNumberWidget(page, '3', 'steps', 2);

  await page.evaluate(() => {
    const w = window as any;
    w.__seen = { nodes: new Set(), samplerProgress: 0, nodeBar: 0, maxOverall: 0, previews: [] as { node: string | null; size?: number[] }[] };
    let lastPreview: string | null = null;
    w.__weft.store.subscribe((s: any) => {
      if (s.progress.node) w.__seen.nodes.add(s.progress.node);
      if (s.progress.node === '3' && s.progress.max > 0) w.__seen.samplerProgress = Math.max(w.__seen.samplerProgress, s.progress.value / s.progress.max);
      const p = w.__weft.editor.node('3')?.progress;
      if (typeof p === 'number') w.__seen.nodeBar = Math.max(w.__seen.nodeBar, p);
      if (s.preview && s.preview !== lastPreview) {
        lastPreview = s.preview;
        const rec: { node: string | null; size?: number[] } = { node: s.progress.node };
        w.__seen.previews.push(rec);
        // Decode it now, as an <img> like the node draws it (the CSP allows blob: images, not fetches);
        // the controller revokes a preview's URL once the next one arrives.
        const img = new Image();
        img.src = s.preview;
        img.decode().then(() => (rec.size = [img.naturalWidth, img.naturalHeight]), (e) => ((rec as any).error = String(e)));
      }
    });
    const bar = document.querySelector('[data-testid=global-progress]') as HTMLElement;
    new MutationObserver(() => (w.__seen.maxOverall = Math.max(w.__seen.maxOverall, parseFloat(bar.style.width) || 0))).observe(bar, { attributes: true, attributeFilter: ['style'] });
  });
  await page.focus('#graph');
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => (window as any).__weft.store.getState().history.length > 0, null, { timeout: 180_000 });
  const hist = await page.evaluate(() => (window as any).__weft.store.getState().history[0]);
  assert.equal(hist.status, 'success', JSON.stringify(hist));
  assert.equal(hist.images.length, 1);
  assert.match(hist.images[0].filename, /^ComfyUI_\d+_\.png$/);

  // The final image is drawn on the SaveImage node, at the size the widgets asked for.
  await page.waitForFunction(() => {
    const imgs = (window as any).__weft.editor.node('9').weftImages ?? [];
    return imgs.length === 1 && imgs[0].complete && imgs[0].naturalWidth > 0 && !imgs[0].src.startsWith('blob:');
  });
  const size = await page.evaluate(() => {
    const img = (window as any).__weft.editor.node('9').weftImages[0];
    return [img.naturalWidth, img.naturalHeight];
  });
  assert.deepEqual(size, [64, 64]);

  const seen = await page.evaluate(() => {
    const s = (window as any).__seen;
    return { nodes: [...s.nodes].sort(), samplerProgress: s.samplerProgress, nodeBar: s.nodeBar, maxOverall: s.maxOverall, previews: s.previews };
  });
  assert.deepEqual(seen.nodes, ['3', '4', '5', '6', '7', '8', '9'], 'every node was shown as executing');
  assert.equal(seen.samplerProgress, 1, 'KSampler reported both steps');
  assert.equal(seen.nodeBar, 1, 'the KSampler node progress bar reached the end');
  assert.ok(seen.maxOverall > 0, 'the global progress bar moved');
  assert.ok(seen.previews.length >= 1, 'latent previews arrived while sampling');
  assert.ok(seen.previews.every((p: { node: string | null }) => p.node === '3'), JSON.stringify(seen.previews));
  // SD1 latents are 1/8 of the image: a 64×64 run previews at 8×8 (Latent2RGB, no upscaling).
  assert.ok(seen.previews.some((p: { size?: number[] }) => p.size?.[0] === 8 && p.size?.[1] === 8), JSON.stringify(seen.previews));

  await page.evaluate(() => (window as any).__weft.editor.fitView());
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(ARTIFACTS, 'txt2img-result.png') });

  await page.getByRole('button', { name: 'History', exact: true }).click();
  await page.waitForSelector('.queue-panel .history li.success img');
  assert.equal(await page.locator('.queue-panel .history li').count(), 1);
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(ARTIFACTS, 'txt2img-done.png') });
  assert.deepEqual(errors, []);
});

test('a new session lists the server history and Load restores that prompt’s graph', async () => {
  const { page: p2, errors: e2 } = await h.open(); // fresh page, empty storage: the editor shows 512×512 again
  assert.equal(await widgetValue(p2, '5', 'width'), 512);
  await p2.getByRole('button', { name: 'History', exact: true }).click();
  const load = p2.locator('.queue-panel .history li.success button', { hasText: 'Load' });
  await load.waitFor({ timeout: 5000 });
  assert.equal(await p2.locator('.queue-panel .history li.success img').count(), 1, 'the saved image is listed');
  await load.click();
  await p2.waitForFunction(() => (window as any).__weft.store.getState().workflowName.startsWith('history '));
  assert.equal(await widgetValue(p2, '5', 'width'), 64);
  assert.equal(await widgetValue(p2, '3', 'steps'), 2);
  assert.equal(await widgetValue(p2, '4', 'ckpt_name'), CKPT);
  await p2.screenshot({ path: join(ARTIFACTS, 'txt2img-history-load.png') });
  assert.deepEqual(e2, []);
  await p2.close();
});

test('Settings shows the server’s models folder, execution provider and cache size', async () => {
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  const field = (label: string) => page.locator('.settings-panel label', { hasText: label }).locator('input').inputValue();
  assert.equal(await field('Models folder'), h.dirs.models);
  assert.match(await field('Execution provider'), /^(cpu|cuda|webgpu|dml|coreml) \(auto/);
  assert.match(await field('Cache size'), /^\d+$/);
  assert.ok(Number(await field('Cache size')) > 0);
  await page.screenshot({ path: join(ARTIFACTS, 'txt2img-settings.png') });
});
