/**
 * First-run decisions, kept free of the DOM and litegraph so they are unit-tested: whether the models
 * folder holds only the server's demo checkpoint (then the model manager opens), which checkpoint
 * widgets to point at the demo so the default workflow runs offline, and whether the graph now uses it
 * (then a "images are noise" badge is shown, so nobody mistakes its output for a broken install).
 */
import type { ApiPrompt } from '../../engine/workflow/api.ts';
import type { RawHistoryItem } from './api.ts';
import type { HistoryItem } from './store.ts';

/** `weft serve` names its demo checkpoint "weft-demo-…" (engine/models/demo.ts; a test keeps them in step). */
export const DEMO_PREFIX = 'weft-demo-';

export const isDemoCheckpoint = (name: unknown): boolean => typeof name === 'string' && name.startsWith(DEMO_PREFIX);

/** No real checkpoint yet: nothing, or only the demo the server wrote. */
export const needsModels = (checkpoints: readonly string[]): boolean => checkpoints.every(isDemoCheckpoint);

/** A checkpoint combo on the graph, as the editor reports it. */
export interface CheckpointWidget {
  nodeId: string;
  value: unknown;
}

/**
 * The widgets to switch to the demo: only when the demo is the only checkpoint there is and the
 * workflow's own file is missing. With any real model installed the user's choice is left alone, and
 * the missing file shows up as a normal validation error.
 */
export function demoSwitches(widgets: readonly CheckpointWidget[], checkpoints: readonly string[]): { nodeId: string; to: string }[] {
  if (checkpoints.length !== 1 || !isDemoCheckpoint(checkpoints[0])) return [];
  const demo = checkpoints[0]!;
  return widgets.filter((w) => w.value !== demo).map((w) => ({ nodeId: w.nodeId, to: demo }));
}

export const usesDemo = (widgets: readonly CheckpointWidget[]): boolean => widgets.some((w) => isDemoCheckpoint(w.value));

/**
 * The server's GET /history (oldest first) as panel items (newest first), so prompts of earlier
 * sessions can be loaded too: their UI workflow when the client sent one (extra_pnginfo), else the API
 * prompt, which the controller converts back into a graph.
 */
export function historyFromServer(raw: Record<string, RawHistoryItem>): HistoryItem[] {
  const items: HistoryItem[] = [];
  for (const [promptId, h] of Object.entries(raw)) {
    const images = Object.values(h.outputs ?? {}).flatMap((o) => o.images ?? []);
    const str = h.status?.status_str;
    const status: HistoryItem['status'] = str === 'success' || (str === undefined && h.status?.completed) ? 'success' : 'error';
    const extra = Array.isArray(h.prompt) ? h.prompt[3] : undefined;
    const prompt = Array.isArray(h.prompt) ? (h.prompt[2] as ApiPrompt) : undefined;
    items.push({ promptId, status, images, workflow: extra?.extra_pnginfo?.workflow, prompt });
  }
  return items.reverse();
}

/** Live items first (they carry this session's state), then server items this window has not seen. */
export function mergeHistory(live: readonly HistoryItem[], server: readonly HistoryItem[]): HistoryItem[] {
  const seen = new Set(live.map((h) => h.promptId));
  return [...live, ...server.filter((h) => !seen.has(h.promptId))];
}
