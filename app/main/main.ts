/**
 * Electron main process, kept thin: wires Electron's real app/BrowserWindow/ipcMain/dialog/shell into
 * the pure modules next to it (server-host, handlers, security, window-state, menu). Bundled to
 * out/main.cjs by scripts/build-renderer.mjs --electron and started by launch.mjs.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, screen, session, shell, type MenuItemConstructorOptions } from 'electron';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeHandlers, registerHandlers } from './handlers.ts';
import { menuTemplate, type MenuItemSpec } from './menu.ts';
import { isAllowedNavigation, isAllowedRequest, webPreferences } from './security.ts';
import type { HostedServer } from './server-host.ts';
import { loadWindowState, serializeWindowState } from './window-state.ts';

// out/main.cjs sits next to out/preload.cjs and out/renderer/; the app root is one level up.
const OUT = __dirname;
const ROOT = join(__dirname, '..');
let hosted: HostedServer | undefined;

/**
 * The engine runs from its TypeScript sources through tsx, as `node --import tsx` runs it headless
 * (its model runtime starts .ts workers the same way), so it is loaded at runtime, not bundled.
 */
async function loadServerHost(): Promise<typeof import('./server-host.ts')> {
  const { tsImport } = await import('tsx/esm/api');
  return tsImport(join(ROOT, 'app/main/server-host.ts'), __filename);
}

function toElectronMenu(items: MenuItemSpec[], send: (cmd: string) => void): MenuItemConstructorOptions[] {
  return items.map((i) => ({
    label: i.label,
    role: i.role,
    type: i.type,
    accelerator: i.accelerator,
    // The renderer handles the keys; the accelerator is only displayed, so a key never fires twice.
    registerAccelerator: i.command ? false : undefined,
    click: i.command ? () => send(i.command!) : undefined,
    submenu: i.submenu ? toElectronMenu(i.submenu, send) : undefined,
  }));
}

async function createWindow(): Promise<void> {
  const dataDir = app.getPath('userData');
  const { hostServer } = await loadServerHost();
  hosted = await hostServer({ dataDir, staticDir: join(OUT, 'renderer') });
  const origin = hosted.origin;
  const stateFile = join(dataDir, 'window-state.json');
  const state = loadWindowState(existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : null, screen.getAllDisplays().map((d) => d.workArea));

  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  session.defaultSession.webRequest.onBeforeRequest((details, cb) => cb({ cancel: !isAllowedRequest(details.url, origin) }));

  const win = new BrowserWindow({
    ...state,
    show: false,
    backgroundColor: '#202020',
    title: 'Weft',
    webPreferences: webPreferences(join(OUT, 'preload.cjs')),
  });
  if (state.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (e, url) => {
    if (!isAllowedNavigation(url, origin)) e.preventDefault();
  });
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  win.on('close', () => writeFileSync(stateFile, serializeWindowState(win.getNormalBounds(), win.isMaximized())));

  const send = (cmd: string) => {
    if (cmd === 'reveal.output') void shell.openPath(hosted!.folders.output);
    else win.webContents.send('menu:command', cmd);
  };
  Menu.setApplicationMenu(Menu.buildFromTemplate(toElectronMenu(menuTemplate(process.platform === 'darwin', !app.isPackaged), send)));

  registerHandlers(
    ipcMain,
    makeHandlers({
      version: app.getVersion(),
      platform: process.platform,
      serverUrl: origin,
      showOpenDialog: async () => {
        const r = await dialog.showOpenDialog(win, { properties: ['openFile'], filters: [{ name: 'Workflows', extensions: ['json', 'png'] }] });
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
      showSaveDialog: async (name) => {
        const r = await dialog.showSaveDialog(win, { defaultPath: name, filters: [{ name: 'Workflow', extensions: ['json'] }] });
        return r.canceled ? null : (r.filePath ?? null);
      },
      readFile: async (p) => new Uint8Array(await readFile(p)),
      writeFile: (p, text) => writeFile(p, text, 'utf8'),
      folders: hosted.folders,
      openPath: (p) => shell.openPath(p),
      quit: () => app.quit(),
    }),
    origin,
  );
  await win.loadURL(hosted.entryUrl);
}

if (!app.requestSingleInstanceLock()) app.quit();
else {
  app.on('second-instance', () => BrowserWindow.getAllWindows()[0]?.focus());
  app.whenReady().then(createWindow, (e: unknown) => {
    dialog.showErrorBox('Weft could not start', e instanceof Error ? e.message : String(e));
    app.quit();
  });
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', () => void hosted?.server.close());
}
