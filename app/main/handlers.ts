/**
 * IPC handlers for the contract in app/shared/ipc.ts. They depend on plain functions (dialogs, fs,
 * shell) passed in by main.ts, so they are tested under node:test with no Electron binary.
 */
import { basename } from 'node:path';
import { CHANNELS, FOLDER_KINDS, type FolderKind, type Handlers, type IpcMainLike } from '../shared/ipc.ts';

export interface HandlerDeps {
  version: string;
  platform: string;
  serverUrl: string;
  /** Shows an open dialog; resolves to the chosen path or null. */
  showOpenDialog(): Promise<string | null>;
  showSaveDialog(suggestedName: string): Promise<string | null>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, text: string): Promise<void>;
  folders: Record<FolderKind, string>;
  /** Opens a folder in the OS file manager. */
  openPath(path: string): Promise<string>;
  quit(): void;
}

/** Workflows are small JSON or PNG files; refuse anything big rather than ship it across IPC. */
export const MAX_OPEN_BYTES = 64 * 1024 * 1024;

export function makeHandlers(deps: HandlerDeps): Handlers {
  return {
    'app:info': () => ({ version: deps.version, platform: deps.platform, serverUrl: deps.serverUrl }),
    'dialog:open-workflow': async () => {
      const path = await deps.showOpenDialog();
      if (!path) return null;
      const data = await deps.readFile(path);
      if (data.byteLength > MAX_OPEN_BYTES) throw new Error(`${basename(path)} is too large to be a workflow`);
      return { name: basename(path), data };
    },
    'dialog:save-workflow': async (suggestedName, text) => {
      if (typeof suggestedName !== 'string' || typeof text !== 'string') throw new TypeError('save-workflow expects (name, text)');
      const path = await deps.showSaveDialog(basename(suggestedName));
      if (!path) return null;
      await deps.writeFile(path, text);
      return path;
    },
    'shell:reveal': async (kind) => {
      if (!FOLDER_KINDS.includes(kind)) throw new TypeError(`unknown folder kind: ${String(kind)}`);
      return (await deps.openPath(deps.folders[kind])) === '';
    },
    'app:quit': () => deps.quit(),
  };
}

/**
 * Registers every channel. Calls are accepted only from frames on `trustedOrigin` (the embedded
 * server): if the window ever showed other content, it could not reach the file dialogs.
 */
export function registerHandlers(ipc: IpcMainLike, handlers: Handlers, trustedOrigin: string): () => void {
  for (const channel of CHANNELS) {
    const fn = handlers[channel] as (...a: unknown[]) => unknown;
    ipc.handle(channel, (event, ...args) => {
      const url = event.senderFrame?.url;
      let origin = '';
      try {
        origin = url ? new URL(url).origin : '';
      } catch {
        /* unparsable sender URL: refused below */
      }
      if (origin !== trustedOrigin) throw new Error(`IPC ${channel} refused from ${url ?? 'an unknown frame'}`);
      return fn(...args);
    });
  }
  return () => CHANNELS.forEach((c) => ipc.removeHandler(c));
}
