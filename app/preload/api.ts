/** The contract-only API the preload exposes; pure so it is tested without Electron. */
import { CHANNELS, EVENT_CHANNELS, type ElectronApi } from '../shared/ipc.ts';

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<any>;
  on(channel: string, listener: (event: unknown, ...args: any[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: any[]) => void): unknown;
}

export function makeApi(ipc: IpcRendererLike): ElectronApi {
  return {
    invoke: (channel, ...args) => {
      if (!CHANNELS.includes(channel)) return Promise.reject(new Error(`unknown channel ${String(channel)}`));
      return ipc.invoke(channel, ...args);
    },
    on: (channel, listener) => {
      if (!EVENT_CHANNELS.includes(channel)) throw new Error(`unknown event ${String(channel)}`);
      // Strip the IpcRendererEvent: it carries `sender`, which would hand the page ipcRenderer.
      const wrapped = (_e: unknown, ...args: unknown[]) => (listener as (...a: unknown[]) => void)(...args);
      ipc.on(channel, wrapped);
      return () => void ipc.removeListener(channel, wrapped);
    },
  };
}

