/** The queue's JSON file: what is written, and how a file from a previous run becomes the starting state. */
import fs from 'node:fs';
import { WeftError, errorMessage } from '../errors.ts';
import { parseJson, stringifyJson } from '../workflow/json.ts';
import { crashed, historyEntry, type HistoryEntry, type QueueItem } from './history.ts';
import { writeFileAtomic } from './persist.ts';

export interface SavedQueue {
  version: 1;
  counter: number;
  pending: QueueItem[];
  running: QueueItem | null;
  history: [string, HistoryEntry][];
}

export interface RestoredQueue {
  counter: number;
  pending: QueueItem[];
  history: [string, HistoryEntry][];
}

/** Seeds up to 2^64−1 are written as plain JSON integers and read back as bigint (workflow/json.ts). */
export function saveQueue(file: string, saved: SavedQueue): void {
  writeFileAtomic(file, stringifyJson(saved));
}

/** null when there is no file yet. */
export function loadQueue(file: string): SavedQueue | null {
  try {
    return legacyBigInts(parseJson(fs.readFileSync(file, 'utf8'))) as SavedQueue;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new WeftError(`cannot read the queue file ${file}: ${errorMessage(e)}`, { type: 'config_error', file });
  }
}

/**
 * The prompt that was running when the process died: 'fail' records it in history as an error,
 * 'requeue' puts it back in front of the pending ones.
 */
export function restoreQueue(saved: SavedQueue, mode: 'fail' | 'requeue'): RestoredQueue {
  const pending = saved.pending ?? [];
  const history = [...(saved.history ?? [])];
  const r = saved.running;
  if (r) {
    if (mode === 'requeue') pending.push({ ...r, number: Math.min(r.number, ...pending.map((i) => i.number)) - 1 });
    else history.push([r.prompt_id, historyEntry(r, crashed(r.prompt_id, 'Weft stopped while this prompt was running'))]);
  }
  return { counter: saved.counter ?? 0, pending, history };
}

/** Files written before the queue used workflow/json.ts stored bigints as {"__bigint__": "…"}. */
function legacyBigInts(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(legacyBigInts);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && typeof o.__bigint__ === 'string') return BigInt(o.__bigint__);
  for (const k of keys) o[k] = legacyBigInts(o[k]);
  return o;
}
