/**
 * Drives litegraph widgets the way a user does: a click in the middle of a number widget opens
 * litegraph's value prompt, a click in the middle of a combo opens its context menu.
 */
import type { Page } from 'playwright-core';

/** Screen position of a widget's centre on node `nodeId` (litegraph: screen = (graph + offset) * scale). */
export async function widgetCentre(page: Page, nodeId: string, name: string): Promise<[number, number]> {
  return page.evaluate(
    ([id, n]) => {
      const { editor } = (window as any).__weft;
      const node = editor.node(id);
      const w = node.widgets.find((x: any) => x.name === n);
      if (!w || typeof w.last_y !== 'number') throw new Error(`widget ${n} of node ${id} is not drawn`);
      const r = editor.canvas.canvas.getBoundingClientRect();
      const ds = editor.canvas.ds;
      const gx = node.pos[0] + node.size[0] / 2;
      const gy = node.pos[1] + w.last_y + 10; // widgets are 20 graph units tall
      return [r.left + (gx + ds.offset[0]) * ds.scale, r.top + (gy + ds.offset[1]) * ds.scale] as [number, number];
    },
    [nodeId, name] as const,
  );
}

export const widgetValue = (page: Page, nodeId: string, name: string) =>
  page.evaluate(([id, n]) => (window as any).__weft.editor.node(id).widgets.find((x: any) => x.name === n).value, [nodeId, name] as const);

/** Types `value` into the prompt a number widget opens, then Enter. */
export async function setNumberWidget(page: Page, nodeId: string, name: string, value: number): Promise<void> {
  const [x, y] = await widgetCentre(page, nodeId, name);
  await page.mouse.click(x, y);
  const input = page.locator('.graphdialog input.value');
  await input.waitFor({ timeout: 5000 });
  await input.fill(String(value));
  await input.press('Enter');
  await page.waitForFunction(([id, n, v]) => (window as any).__weft.editor.node(id).widgets.find((x: any) => x.name === n).value === v, [nodeId, name, value] as const, { timeout: 5000 });
}

/** Opens a combo's menu and clicks the entry `value`. */
export async function pickComboValue(page: Page, nodeId: string, name: string, value: string): Promise<void> {
  const [x, y] = await widgetCentre(page, nodeId, name);
  await page.mouse.click(x, y);
  const entry = page.locator('.litecontextmenu .litemenu-entry', { hasText: value });
  await entry.first().waitFor({ timeout: 5000 });
  await entry.first().click();
  await page.waitForFunction(([id, n, v]) => (window as any).__weft.editor.node(id).widgets.find((x: any) => x.name === n).value === v, [nodeId, name, value] as const, { timeout: 5000 });
}
