/**
 * Store binding for panels. Preact (not plain DOM) because the panels are lists and forms that change
 * with every WS message — queue, history, gallery, downloads, settings — where keyed re-rendering beats
 * hand-written DOM patching, for ~10 KB gzip; the canvas itself stays litegraph.
 */
import { useSyncExternalStore } from 'preact/compat';
import type { Actions, AppStore, State } from '../store.ts';

export function useStore<T>(store: AppStore, pick: (s: State & Actions) => T): T {
  return useSyncExternalStore(store.subscribe, () => pick(store.getState()));
}

/** What panels may do: run a command by id (the same ids keybindings and menus use). */
export type Run = (command: string, ...args: unknown[]) => void;
