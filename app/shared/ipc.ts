/**
 * The one IPC contract between the Electron main process, the preload bridge and the renderer.
 * IPC is only for OS things (file dialogs, reveal a folder, menus, quit); everything else goes over
 * HTTP/WS to the engine server, exactly as in a browser. Channels are named here and nowhere else.
 */

/** renderer → main (invoke/handle): channel → [argument tuple, return type]. */
export interface IpcContract {
  'app:info': [args: [], ret: { version: string; platform: string; serverUrl: string }];
  'dialog:open-workflow': [args: [], ret: { name: string; data: Uint8Array } | null];
  'dialog:save-workflow': [args: [suggestedName: string, text: string], ret: string | null];
  /** Opens one of the server's folders in the OS file manager; a kind, never a path, crosses IPC. */
  'shell:reveal': [args: [kind: FolderKind], ret: boolean];
  'app:quit': [args: [], ret: void];
}

/** main → renderer (send/on). */
export interface IpcEvents {
  'menu:command': [commandId: string];
}

export type FolderKind = 'output' | 'input' | 'models';
export const FOLDER_KINDS: readonly FolderKind[] = ['output', 'input', 'models'];

export type Channel = keyof IpcContract;
export type Args<C extends Channel> = IpcContract[C][0];
export type Ret<C extends Channel> = IpcContract[C][1];
export type EventChannel = keyof IpcEvents;

export const CHANNELS: readonly Channel[] = ['app:info', 'dialog:open-workflow', 'dialog:save-workflow', 'shell:reveal', 'app:quit'];
export const EVENT_CHANNELS: readonly EventChannel[] = ['menu:command'];

/** The slice of Electron's ipcMain the handlers use (Electron's ipcMain satisfies it). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: any[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** What a handler may check about its caller: the frame that sent it. */
export interface IpcEventLike {
  senderFrame?: { url: string } | null;
}

export type Handlers = { [C in Channel]: (...args: Args<C>) => Ret<C> | Promise<Ret<C>> };

/** What the preload exposes as `window.electronAPI` (contextBridge copies it; functions only). */
export interface ElectronApi {
  invoke<C extends Channel>(channel: C, ...args: Args<C>): Promise<Ret<C>>;
  on<E extends EventChannel>(channel: E, listener: (...args: IpcEvents[E]) => void): () => void;
}
