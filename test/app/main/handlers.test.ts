import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHandlers, registerHandlers, MAX_OPEN_BYTES, type HandlerDeps } from '../../../app/main/handlers.ts';
import { loadWindowState, serializeWindowState, DEFAULT_STATE } from '../../../app/main/window-state.ts';
import { isAllowedNavigation, isAllowedRequest, webPreferences } from '../../../app/main/security.ts';
import { menuTemplate, type MenuItemSpec } from '../../../app/main/menu.ts';
import { makeApi } from '../../../app/preload/api.ts';
import { CHANNELS, type IpcEventLike, type IpcMainLike } from '../../../app/shared/ipc.ts';
import { KEYBINDINGS } from '../../../app/renderer/keybindings.ts';

const ORIGIN = 'http://127.0.0.1:4567';

/** An IpcMainLike that records handlers and lets a test call them as a given frame would. */
class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, (event: IpcEventLike, ...args: any[]) => unknown>();
  handle(channel: string, listener: (event: IpcEventLike, ...args: any[]) => unknown): void {
    assert.ok(!this.handlers.has(channel), `${channel} registered twice`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  call(channel: string, frameUrl: string | null, ...args: unknown[]): Promise<unknown> {
    return Promise.resolve().then(() => this.handlers.get(channel)!({ senderFrame: frameUrl === null ? null : { url: frameUrl } }, ...args));
  }
}

type Recorded = { written: [string, string][]; opened: string[]; quits: number };

function deps(over: Partial<HandlerDeps> = {}): HandlerDeps & Recorded {
  const rec: Recorded = { written: [], opened: [], quits: 0 };
  const base: HandlerDeps = {
    version: '1.2.3',
    platform: 'linux',
    serverUrl: ORIGIN,
    showOpenDialog: async () => '/home/u/flows/portrait.json',
    showSaveDialog: async (name: string) => `/home/u/flows/${name}`,
    readFile: async () => new TextEncoder().encode('{"nodes":[]}'),
    writeFile: async (p: string, t: string) => void rec.written.push([p, t]),
    folders: { output: '/data/output', input: '/data/input', models: '/data/models' },
    openPath: async (p: string): Promise<string> => (rec.opened.push(p), ''),
    quit: () => void rec.quits++,
  };
  return Object.assign(rec, base, over);
}

test('every contract channel is registered, and unregistering removes them all', () => {
  const ipc = new FakeIpcMain();
  const off = registerHandlers(ipc, makeHandlers(deps()), ORIGIN);
  assert.deepEqual([...ipc.handlers.keys()].sort(), [...CHANNELS].sort());
  off();
  assert.equal(ipc.handlers.size, 0);
});

test('handlers answer the server\'s own frames and refuse any other origin', async () => {
  const ipc = new FakeIpcMain();
  registerHandlers(ipc, makeHandlers(deps()), ORIGIN);
  assert.deepEqual(await ipc.call('app:info', `${ORIGIN}/`), { version: '1.2.3', platform: 'linux', serverUrl: ORIGIN });
  await assert.rejects(ipc.call('app:info', 'https://evil.example/'), /refused/);
  await assert.rejects(ipc.call('app:info', 'http://127.0.0.1:9999/'), /refused/);
  await assert.rejects(ipc.call('app:info', null), /refused/);
  await assert.rejects(ipc.call('app:info', 'not a url'), /refused/);
});

test('open and save dialogs read and write through the injected functions', async () => {
  const d = deps();
  const ipc = new FakeIpcMain();
  registerHandlers(ipc, makeHandlers(d), ORIGIN);
  const opened = (await ipc.call('dialog:open-workflow', ORIGIN)) as { name: string; data: Uint8Array };
  assert.equal(opened.name, 'portrait.json');
  assert.equal(new TextDecoder().decode(opened.data), '{"nodes":[]}');
  assert.equal(await ipc.call('dialog:save-workflow', ORIGIN, '../../etc/x.json', '{}'), '/home/u/flows/x.json', 'only the base name is suggested');
  assert.deepEqual(d.written, [['/home/u/flows/x.json', '{}']]);
  await assert.rejects(ipc.call('dialog:save-workflow', ORIGIN, 'a.json', 42), /expects/);
});

test('cancelled dialogs resolve to null and write nothing; huge files are refused', async () => {
  const d = deps({ showOpenDialog: async () => null, showSaveDialog: async () => null });
  const h = makeHandlers(d);
  assert.equal(await h['dialog:open-workflow'](), null);
  assert.equal(await h['dialog:save-workflow']('a.json', '{}'), null);
  assert.deepEqual(d.written, []);
  const big = makeHandlers(deps({ readFile: async () => new Uint8Array(MAX_OPEN_BYTES + 1) }));
  await assert.rejects(Promise.resolve().then(() => big['dialog:open-workflow']()), /too large/);
});

test('reveal opens only the known folders, by kind', async () => {
  const d = deps();
  const h = makeHandlers(d);
  assert.equal(await h['shell:reveal']('output'), true);
  assert.deepEqual(d.opened, ['/data/output']);
  await assert.rejects(Promise.resolve().then(() => h['shell:reveal']('/etc' as never)), /unknown folder kind/);
  h['app:quit']();
  assert.equal(d.quits, 1);
});

test('the preload API forwards contract channels only and strips the IPC event', async () => {
  const calls: unknown[][] = [];
  const listeners = new Map<string, (e: unknown, ...a: unknown[]) => void>();
  const api = makeApi({
    invoke: async (...a) => (calls.push(a), 'ok'),
    on: (c, l) => listeners.set(c, l),
    removeListener: (c) => listeners.delete(c),
  });
  assert.equal(await api.invoke('shell:reveal', 'output'), 'ok');
  assert.deepEqual(calls, [['shell:reveal', 'output']]);
  await assert.rejects((api.invoke as (c: string) => Promise<unknown>)('evil:channel'), /unknown channel/);
  const got: unknown[][] = [];
  const off = api.on('menu:command', (...a) => got.push(a));
  listeners.get('menu:command')!({ sender: 'ipcRenderer!' }, 'queue');
  assert.deepEqual(got, [['queue']]);
  off();
  assert.equal(listeners.size, 0);
  assert.throws(() => api.on('x' as never, () => {}), /unknown event/);
});

test('window state survives bad input and stays on a visible display', () => {
  const displays = [{ x: 0, y: 0, width: 1920, height: 1080 }];
  assert.deepEqual(loadWindowState(null, displays), DEFAULT_STATE);
  assert.deepEqual(loadWindowState('{oops', displays), DEFAULT_STATE);
  const saved = serializeWindowState({ x: 100, y: 50, width: 1000, height: 700 }, true);
  assert.deepEqual(loadWindowState(saved, displays), { x: 100, y: 50, width: 1000, height: 700, maximized: true });
  const offScreen = loadWindowState(serializeWindowState({ x: 5000, y: 50, width: 1000, height: 700 }, false), displays);
  assert.equal(offScreen.x, undefined, 'a window left on a detached monitor is recentred');
  assert.equal(loadWindowState('{"width":10,"height":10}', displays).width, 640);
});

test('security: isolated sandboxed renderer, navigation and requests pinned to the server', () => {
  const p = webPreferences('/app/out/preload.cjs');
  assert.equal(p.contextIsolation, true);
  assert.equal(p.nodeIntegration, false);
  assert.equal(p.sandbox, true);
  assert.equal(p.webviewTag, false);
  assert.ok(isAllowedNavigation(`${ORIGIN}/?token=x`, ORIGIN));
  assert.ok(!isAllowedNavigation('https://example.com/', ORIGIN));
  assert.ok(!isAllowedNavigation('file:///etc/passwd', ORIGIN));
  assert.ok(isAllowedRequest(`${ORIGIN}/object_info`, ORIGIN));
  assert.ok(isAllowedRequest('ws://127.0.0.1:4567/ws?clientId=a', ORIGIN));
  assert.ok(isAllowedRequest('data:image/png;base64,AA', ORIGIN));
  assert.ok(!isAllowedRequest('https://huggingface.co/x', ORIGIN), 'no remote content in the window');
  assert.ok(!isAllowedRequest('ws://127.0.0.1:1/ws', ORIGIN));
});

test('every menu command is a command the renderer knows', () => {
  const known = new Set([...KEYBINDINGS.map((b) => b.command), 'open', 'save', 'exportApi', 'reveal.output', 'panel.gallery', 'panel.models', 'clearQueue']);
  const walk = (items: MenuItemSpec[]): string[] => items.flatMap((i) => [...(i.command ? [i.command] : []), ...walk(i.submenu ?? [])]);
  for (const mac of [true, false]) for (const c of walk(menuTemplate(mac, true))) assert.ok(known.has(c), c);
  assert.ok(menuTemplate(true, false)[0].label === 'Weft');
});
