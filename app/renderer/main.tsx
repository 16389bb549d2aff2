/**
 * Renderer entry: fetches /object_info, builds the node registry and the litegraph editor, mounts the
 * Preact panels and connects the WebSocket. Runs the same in a browser and in the Electron window.
 */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import type { ElectronApi, FolderKind } from '../shared/ipc.ts';
import type { CatalogueEntry } from '../shared/wire.ts';
import { createApi } from './api.ts';
import { Controller } from './controller.ts';
import { DEFAULT_WORKFLOW } from './default-workflow.ts';
import { GraphEditor } from './graph/editor.ts';
import { createMinimap } from './graph/minimap.ts';
import { commandFor } from './keybindings.ts';
import { ErrorPanel } from './panels/ErrorPanel.tsx';
import { GalleryPanel } from './panels/GalleryPanel.tsx';
import { ModelsPanel } from './panels/ModelsPanel.tsx';
import { QueuePanel } from './panels/QueuePanel.tsx';
import { SearchDialog, type SearchRequest } from './panels/SearchDialog.tsx';
import { SettingsPanel } from './panels/SettingsPanel.tsx';
import { Toolbar } from './panels/Toolbar.tsx';
import { useStore, type Run } from './panels/use-store.ts';
import { needsModels } from './first-run.ts';
import { registryFromObjectInfo } from './registry.ts';
import { createAppStore, type Settings } from './store.ts';
import type { UiWorkflow } from '../../engine/workflow/ui.ts';
import { connectWs } from './ws-client.ts';

const desktop = (window as unknown as { electronAPI?: ElectronApi }).electronAPI;

async function boot(): Promise<void> {
  // The desktop shell's first URL carries the per-launch token; the server has set its cookie by now.
  if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);
  const api = createApi();
  const store = createAppStore();
  const [info, examples, server, checkpoints] = await Promise.all([
    api.objectInfo(),
    api.examples(),
    api.weftInfo().catch(() => ({})),
    api.models('checkpoints').catch(() => [] as string[]),
  ]);
  const registry = registryFromObjectInfo(info);
  const defs = registry.all();
  const searchItems = defs.map((d) => ({ type: d.name, title: d.displayName ?? d.name, category: d.category }));
  const clientId = crypto.randomUUID().replaceAll('-', '');
  let openSearch: (r: SearchRequest | null) => void = () => {};
  let controller: Controller | undefined;

  const editor = new GraphEditor({
    canvas: document.getElementById('graph') as HTMLCanvasElement,
    defs,
    openSearch: (client, graph) => openSearch({ client, graph }),
    onMaybeChanged: () => controller?.maybeChanged(),
    upload: (node, combo) => {
      const input = document.createElement('input');
      input.type = 'file';
      input.accept = 'image/*';
      input.onchange = async () => {
        const f = input.files?.[0];
        if (!f) return;
        const res = await api.uploadImage(f, f.name);
        const name = res.subfolder ? `${res.subfolder}/${res.name}` : res.name;
        const values = (combo.options as { values?: string[] }).values;
        if (values && !values.includes(name)) values.push(name);
        combo.value = name;
        editor.showImages(String(node.id), [api.viewUrl({ filename: res.name, subfolder: res.subfolder, type: 'input' })]);
        controller?.maybeChanged();
      };
      input.click();
    },
  });
  controller = new Controller(store, api, editor, registry, clientId, desktop);
  const ctl = controller;
  ctl.checkpoints = checkpoints;
  const minimap = createMinimap(editor, document.getElementById('canvas-host')!);

  const commands: Record<string, (...args: any[]) => unknown> = {
    queue: () => ctl.queue(),
    interrupt: () => ctl.interrupt(),
    save: () => ctl.save(),
    open: () => ctl.open(),
    exportApi: () => ctl.exportApi(),
    undo: () => ctl.undo(),
    redo: () => ctl.redo(),
    bypass: () => (editor.toggleMode('bypass'), ctl.maybeChanged()),
    mute: () => (editor.toggleMode('mute'), ctl.maybeChanged()),
    group: () => (editor.groupSelected(), ctl.maybeChanged()),
    fitView: () => editor.fitView(),
    clearErrors: () => (store.getState().clearErrors(), editor.highlightErrors({})),
    focusNode: (id: string) => editor.centerOn(id),
    cancel: (id: string) => api.deleteFromQueue([id]).then(() => store.getState().setQueue(store.getState().queue.filter((q) => q.promptId !== id))),
    clearQueue: () => api.clearQueue().then(() => store.getState().setQueue(store.getState().queue.filter((q) => q.status === 'running'))),
    loadHistory: (id: string) => ctl.loadHistory(id),
    refreshHistory: () => ctl.refreshHistory(),
    example: async (file: string) => {
      if (file === 'default') return ctl.load(DEFAULT_WORKFLOW, 'Default txt2img');
      ctl.load((await api.example(file)) as UiWorkflow, file.replace(/\.json$/, ''));
    },
    refreshModels: async () => {
      const [cat, ckpts] = await Promise.all([api.catalogue().catch(() => null), api.models('checkpoints').catch(() => null)]);
      if (cat) store.getState().setCatalogue(cat);
      if (ckpts) {
        ctl.checkpoints = ckpts;
        editor.setComboValues('ckpt_name', ckpts);
      }
    },
    download: async (m: CatalogueEntry) => {
      const key = `${m.folder}/${m.filename}`;
      store.getState().setDownload(key, { received: 0, total: m.size ?? 0, done: false });
      try {
        const d = await api.downloadModel(m);
        store.getState().setDownload(`${d.folder}/${d.filename}`, { received: d.received, total: d.total ?? 0, done: d.status === 'done' });
      } catch (e) {
        store.getState().setDownload(key, { received: 0, total: 0, done: false, error: e instanceof Error ? e.message : String(e) });
      }
    },
    reveal: (kind: FolderKind) => desktop?.invoke('shell:reveal', kind),
    'reveal.output': () => desktop?.invoke('shell:reveal', 'output'),
    settings: (patch: Partial<Settings>) => {
      store.getState().updateSettings(patch);
      const s = store.getState().settings;
      editor.setLinkStyle(s.linkRenderMode);
      minimap.el.style.display = s.showMinimap ? '' : 'none';
      localStorage.setItem('weft.settings', JSON.stringify(s));
    },
    'panel.queue': () => (store.getState().togglePanel('queue'), commands.refreshHistory()),
    'panel.gallery': () => store.getState().togglePanel('gallery'),
    'panel.models': () => (store.getState().togglePanel('models'), commands.refreshModels()),
    'panel.settings': () => store.getState().togglePanel('settings'),
  };
  const run: Run = (command, ...args) => {
    const fn = commands[command];
    if (!fn) return;
    Promise.resolve(fn(...args)).catch((e: unknown) => store.getState().setMessage(e instanceof Error ? e.message : String(e)));
  };

  window.addEventListener(
    'keydown',
    (e) => {
      const t = e.target as HTMLElement | null;
      const typing = !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
      const cmd = commandFor(e, typing);
      if (!cmd) return;
      e.preventDefault();
      e.stopPropagation();
      run(cmd);
    },
    true,
  );
  const host = document.getElementById('canvas-host')!;
  host.addEventListener('dragover', (e) => e.preventDefault());
  host.addEventListener('drop', async (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) await ctl.loadFile(f.name, new Uint8Array(await f.arrayBuffer()));
  });
  desktop?.on('menu:command', (id) => run(id));

  try {
    const saved = JSON.parse(localStorage.getItem('weft.settings') ?? 'null') as Partial<Settings> | null;
    if (saved) run('settings', saved);
  } catch {
    /* ignore unreadable settings */
  }
  connectWs(clientId, {
    message: (m) => {
      if (m.type === 'weft.download') {
        const d = m.data;
        const error = d.status === 'error' || d.status === 'cancelled' ? (d.error ?? d.status) : undefined;
        store.getState().setDownload(`${d.folder}/${d.filename}`, { received: d.received, total: d.total ?? 0, done: d.status === 'done', error });
        if (d.status === 'done') run('refreshModels');
      } else ctl.onWs(m);
    },
    preview: (f) => ctl.onPreview(f),
    connected: (ok) => store.getState().setConnected(ok),
  });

  function Overlay() {
    const [search, setSearch] = useState<SearchRequest | null>(null);
    openSearch = setSearch;
    const panel = useStore(store, (s) => s.panel);
    return (
      <>
        <Toolbar store={store} run={run} examples={examples} />
        {panel === 'queue' ? <QueuePanel store={store} api={api} run={run} /> : null}
        {panel === 'gallery' ? <GalleryPanel store={store} api={api} run={run} desktop={!!desktop} /> : null}
        {panel === 'models' ? <ModelsPanel store={store} run={run} /> : null}
        {panel === 'settings' ? <SettingsPanel store={store} run={run} server={server} /> : null}
        <ErrorPanel store={store} run={run} />
        {search ? (
          <SearchDialog
            items={searchItems}
            at={search}
            onClose={() => setSearch(null)}
            onPick={(type) => {
              editor.addNode(type, search.graph);
              setSearch(null);
              ctl.maybeChanged();
            }}
          />
        ) : null}
      </>
    );
  }
  render(<Overlay />, document.getElementById('ui')!);
  ctl.start(DEFAULT_WORKFLOW);
  // First run: no real checkpoint yet, so open the model manager on its catalogue.
  if (needsModels(checkpoints)) {
    store.getState().openPanel('models');
    run('refreshModels');
  }
  run('refreshHistory');
  // A handle for e2e tests and debugging from the devtools console; exposes nothing the page lacks.
  (window as unknown as { __weft: unknown }).__weft = { store, editor, controller: ctl, run };
}

boot().catch((e: unknown) => {
  const el = document.getElementById('boot-error');
  if (el) el.textContent = `Weft could not start: ${e instanceof Error ? e.message : String(e)}`;
  console.error(e);
});
