/**
 * Sandboxed preload: exposes exactly the IPC contract as `window.electronAPI` and nothing else (no
 * ipcRenderer, no Node). Bundled to one CJS file, since a sandboxed preload may only require 'electron'.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { makeApi } from './api.ts';

contextBridge.exposeInMainWorld('electronAPI', makeApi(ipcRenderer));
