/**
 * The editor in a real Chromium against the real engine server: boot, search, links, PNG drop,
 * undo, queueing a model-free workflow with its result drawn on the output node, and node errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { readPngText } from '../../../engine/io/png.ts';
import { ARTIFACTS, startHarness, type Harness } from './harness.ts';

const EXAMPLES = '/work/shared/comfy-examples';
let h: Harness;
let page: Page;
let errors: string[];

before(async () => {
  h = await startHarness();
  ({ page, errors } = await h.open());
});
after(async () => {
  await h?.close();
});

/** Screen position of a graph point (litegraph: screen = (graph + offset) * scale). */
async function toScreen(p: Page, gx: number, gy: number): Promise<[number, number]> {
  return p.evaluate(([x, y]) => {
    const { editor } = (window as any).__weft;
    const r = editor.canvas.canvas.getBoundingClientRect();
    const ds = editor.canvas.ds;
    return [r.left + (x + ds.offset[0]) * ds.scale, r.top + (y + ds.offset[1]) * ds.scale] as [number, number];
  }, [gx, gy]);
}

const nodeCount = (p: Page) => p.evaluate(() => (window as any).__weft.editor.nodeCount as number);
const loadGraph = (p: Page, wf: unknown) => p.evaluate((w) => (window as any).__weft.controller.load(w, 'test'), wf);

test('the editor boots on the default txt2img graph with no console errors', async () => {
  assert.equal(await nodeCount(page), 7);
  const types = await page.evaluate(() => (window as any).__weft.editor.graph.nodes.map((n: any) => n.type).sort());
  assert.deepEqual(types, ['CLIPTextEncode', 'CLIPTextEncode', 'CheckpointLoaderSimple', 'EmptyLatentImage', 'KSampler', 'SaveImage', 'VAEDecode']);
  await page.waitForFunction(() => (window as any).__weft.store.getState().connected);
  await page.screenshot({ path: join(ARTIFACTS, 'editor-default.png') });
  assert.deepEqual(errors, []);
});

test('double-click on empty canvas opens the search and Enter adds the node', async () => {
  await loadGraph(page, { last_node_id: 0, last_link_id: 0, nodes: [], links: [], groups: [], config: {}, extra: {}, version: 0.4 });
  await page.mouse.dblclick(600, 400);
  await page.waitForSelector('.search-dialog input');
  await page.keyboard.type('img invert');
  assert.equal(await page.textContent('.search-dialog li.active span'), 'Invert Image');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => (window as any).__weft.editor.nodeCount === 1);
  assert.equal(await page.evaluate(() => (window as any).__weft.editor.graph.nodes[0].type), 'ImageInvert');
  assert.equal(await page.$('.search-dialog'), null);
});

test('dragging from an output slot to an input slot draws a typed link', async () => {
  await page.evaluate(() => {
    const { editor } = (window as any).__weft;
    editor.addNode('LoadImage', [100, 100]);
  });
  const [from, to] = await page.evaluate(() => {
    const { editor } = (window as any).__weft;
    const [inv, load] = [editor.graph.nodes.find((n: any) => n.type === 'ImageInvert'), editor.graph.nodes.find((n: any) => n.type === 'LoadImage')];
    inv.pos = [600, 150];
    editor.canvas.setDirty(true, true);
    return [load.getConnectionPos(false, 0), inv.getConnectionPos(true, 0)];
  });
  await page.waitForTimeout(50);
  const a = await toScreen(page, from[0], from[1]);
  const b = await toScreen(page, to[0], to[1]);
  await page.mouse.move(a[0], a[1]);
  await page.mouse.down();
  await page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, { steps: 5 });
  await page.mouse.move(b[0], b[1], { steps: 5 });
  await page.mouse.up();
  const link = await page.evaluate(() => {
    const wf = (window as any).__weft.editor.serialize();
    return wf.links;
  });
  assert.equal(link.length, 1);
  assert.equal(link[0][5], 'IMAGE');
  await page.screenshot({ path: join(ARTIFACTS, 'editor-link.png') });
});

test('a ComfyUI PNG dropped on the canvas loads its embedded graph', async () => {
  const bytes = readFileSync(join(EXAMPLES, 'png/img2img_workflow.png'));
  const embedded = JSON.parse(readPngText(bytes).workflow) as { nodes: unknown[] };
  await page.evaluate(async (b64) => {
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const file = new File([data], 'img2img_workflow.png', { type: 'image/png' });
    const dt = new DataTransfer();
    dt.items.add(file);
    const host = document.getElementById('canvas-host')!;
    host.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true, clientX: 500, clientY: 400 }));
  }, bytes.toString('base64'));
  await page.waitForFunction((n) => (window as any).__weft.editor.nodeCount === n, embedded.nodes.length, { timeout: 5000 });
  assert.equal(await page.evaluate(() => (window as any).__weft.store.getState().workflowName), 'img2img_workflow');
  await page.screenshot({ path: join(ARTIFACTS, 'editor-png-drop.png') });
});

test('Delete removes the selected node and Ctrl+Z brings it back, Ctrl+Y removes it again', async () => {
  const before = await nodeCount(page);
  // The front-most node's title centre (its left end holds the collapse toggle).
  const title = await page.evaluate(() => {
    const n = (window as any).__weft.editor.graph.nodes.at(-1);
    return [n.pos[0] + n.size[0] / 2, n.pos[1] - 15];
  });
  const [x, y] = await toScreen(page, title[0], title[1]);
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.waitForTimeout(30);
  await page.mouse.up();
  assert.equal(await page.evaluate(() => (window as any).__weft.editor.canvas.selectedItems.size), 1);
  await page.keyboard.press('Delete');
  await page.waitForFunction((n) => (window as any).__weft.editor.nodeCount === n - 1, before);
  await page.keyboard.press('Control+z');
  await page.waitForFunction((n) => (window as any).__weft.editor.nodeCount === n, before);
  await page.keyboard.press('Control+y');
  await page.waitForFunction((n) => (window as any).__weft.editor.nodeCount === n - 1, before);
  await page.keyboard.press('Control+z');
  await page.waitForFunction((n) => (window as any).__weft.editor.nodeCount === n, before);
});

const invertWorkflow = (image: string) => ({
  last_node_id: 3, last_link_id: 2,
  nodes: [
    { id: 1, type: 'LoadImage', pos: [50, 100], size: [315, 314], flags: {}, order: 0, mode: 0,
      outputs: [{ name: 'IMAGE', type: 'IMAGE', links: [1] }, { name: 'MASK', type: 'MASK', links: null }], properties: {}, widgets_values: [image, 'image'] },
    { id: 2, type: 'ImageInvert', pos: [420, 100], size: [210, 46], flags: {}, order: 1, mode: 0,
      inputs: [{ name: 'image', type: 'IMAGE', link: 1 }], outputs: [{ name: 'IMAGE', type: 'IMAGE', links: [2] }], properties: {} },
    { id: 3, type: 'SaveImage', pos: [680, 100], size: [315, 300], flags: {}, order: 2, mode: 0,
      inputs: [{ name: 'images', type: 'IMAGE', link: 2 }], properties: {}, widgets_values: ['weft_e2e'] },
  ],
  links: [[1, 1, 0, 2, 0, 'IMAGE'], [2, 2, 0, 3, 0, 'IMAGE']],
  groups: [], config: {}, extra: {}, version: 0.4,
});

test('Ctrl+Enter queues LoadImage → ImageInvert → SaveImage and the result shows on the output node', async () => {
  await loadGraph(page, invertWorkflow('missing.png'));
  // The upload button goes through the real /upload/image route and sets the combo.
  const chooser = page.waitForEvent('filechooser');
  await page.evaluate(() => {
    const load = (window as any).__weft.editor.node(1);
    load.widgets.find((w: any) => w.name === 'upload').callback();
  });
  await (await chooser).setFiles(join(EXAMPLES, 'images/shark_depthmap.png'));
  await page.waitForFunction(() => (window as any).__weft.editor.node(1).widgets[0].value === 'shark_depthmap.png');

  await page.evaluate(() => {
    const w = window as any;
    w.__seen = { nodes: new Set(), maxOverall: 0 };
    w.__weft.store.subscribe((s: any) => {
      if (s.progress.node) w.__seen.nodes.add(s.progress.node);
    });
    // Panels render asynchronously: watch the bar element itself, not the store.
    const bar = document.querySelector('[data-testid=global-progress]') as HTMLElement;
    new MutationObserver(() => {
      w.__seen.maxOverall = Math.max(w.__seen.maxOverall, parseFloat(bar.style.width) || 0);
    }).observe(bar, { attributes: true, attributeFilter: ['style'] });
  });
  await page.focus('#graph');
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => (window as any).__weft.store.getState().history.length > 0, null, { timeout: 30_000 });
  const hist = await page.evaluate(() => (window as any).__weft.store.getState().history[0]);
  assert.equal(hist.status, 'success', JSON.stringify(hist));
  assert.equal(hist.images.length, 1);
  assert.match(hist.images[0].filename, /^weft_e2e_\d+_\.png$/);
  await page.waitForFunction(() => {
    const imgs = (window as any).__weft.editor.node(3).weftImages ?? [];
    return imgs.length === 1 && imgs[0].complete && imgs[0].naturalWidth > 0;
  });
  const seen = await page.evaluate(() => ({ nodes: [...(window as any).__seen.nodes].sort(), max: (window as any).__seen.maxOverall }));
  assert.deepEqual(seen.nodes, ['1', '2', '3'], 'every node was shown as executing');
  assert.ok(seen.max > 0, 'the global progress bar moved');
  await page.waitForTimeout(100);
  await page.screenshot({ path: join(ARTIFACTS, 'editor-queued-invert.png') });
  assert.deepEqual(errors, []);
});

test('a refused prompt lists node_errors and outlines the invalid node', async () => {
  await loadGraph(page, invertWorkflow('does-not-exist.png'));
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('.error-panel .node-error');
  assert.match((await page.textContent('.error-panel')) ?? '', /#1 LoadImage/);
  assert.equal(await page.evaluate(() => (window as any).__weft.editor.hasErrorOutline('1')), true);
  await page.screenshot({ path: join(ARTIFACTS, 'editor-node-errors.png') });
  errors.length = 0; // the 400 itself is logged by Chromium as a failed resource
});
