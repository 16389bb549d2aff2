import { startHarness } from './harness.ts';
const h = await startHarness();
try {
  const { page } = await h.open();
  const title = await page.evaluate(() => { const n = (window as any).__weft.editor.graph.nodes.at(-1); return [n.pos[0] + n.size[0] / 2, n.pos[1] - 15, n.type]; });
  const xy = await page.evaluate(([x, y]) => { const { editor } = (window as any).__weft; const r = editor.canvas.canvas.getBoundingClientRect(); const ds = editor.canvas.ds; return [r.left + (x + ds.offset[0]) * ds.scale, r.top + (y + ds.offset[1]) * ds.scale]; }, [title[0] as number, title[1] as number]);
  console.log(title, xy);
  const s0 = await page.evaluate(() => (window as any).__weft.editor.snapshot());
  await page.mouse.move(xy[0], xy[1]); await page.mouse.down(); await page.waitForTimeout(30); await page.mouse.up();
  const s1 = await page.evaluate(() => (window as any).__weft.editor.snapshot());
  let i = 0; while (s0[i] === s1[i]) i++; console.log('diff at', i, s0.slice(i - 80, i + 80), '\n---\n', s1.slice(i - 80, i + 80));
  console.log(await page.evaluate(() => ({ items: (window as any).__weft.editor.canvas.selectedItems.size, node: (window as any).__weft.editor.canvas.graph_mouse })));
  console.log(await page.evaluate(() => ({ sel: Object.keys((window as any).__weft.editor.canvas.selected_nodes), act: document.activeElement?.id })));
  await page.keyboard.press('Delete');
  await page.waitForTimeout(200);
  console.log(await page.evaluate(() => (window as any).__weft.editor.nodeCount), await page.evaluate(() => (window as any).__weft.store.getState().undoStack.past.length));
  await page.keyboard.press('Control+z');
  await page.waitForTimeout(200);
  console.log(await page.evaluate(() => (window as any).__weft.editor.nodeCount));
  await page.evaluate(() => { const w = window as any; w.__p = []; w.__weft.store.subscribe((s: any) => w.__p.push(JSON.stringify(s.progress))); });
} finally { await h.close(); }
