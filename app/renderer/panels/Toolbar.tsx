import type { AppStore } from '../store.ts';
import { useStore, type Run } from './use-store.ts';

const PANEL_LABELS = { queue: 'History', gallery: 'Gallery', models: 'Models', settings: 'Settings' } as const;

export function Toolbar({ store, run, examples }: { store: AppStore; run: Run; examples: { name: string; file: string; description?: string }[] }) {
  const name = useStore(store, (s) => s.workflowName);
  const dirty = useStore(store, (s) => s.dirty);
  const remaining = useStore(store, (s) => s.queueRemaining);
  const progress = useStore(store, (s) => s.progress);
  const connected = useStore(store, (s) => s.connected);
  const canUndo = useStore(store, (s) => s.undoStack.past.length > 0);
  const canRedo = useStore(store, (s) => s.undoStack.future.length > 0);
  const demo = useStore(store, (s) => s.demoModel);
  const step = progress.max > 0 ? progress.value / progress.max : 0;
  const overall = progress.nodesTotal > 0 ? Math.min(1, (progress.nodesDone + step) / progress.nodesTotal) : progress.promptId ? step : 0;
  return (
    <header class="toolbar">
      <span class="brand">Weft</span>
      <button onClick={() => run('open')} title="Open (Ctrl+O)">Open</button>
      <button onClick={() => run('save')} title="Save (Ctrl+S)">Save</button>
      <button onClick={() => run('exportApi')} title="Export API-format JSON">Export API</button>
      <select
        aria-label="Examples"
        onChange={(e) => {
          const v = (e.currentTarget as HTMLSelectElement).value;
          (e.currentTarget as HTMLSelectElement).value = '';
          if (v) run('example', v);
        }}
      >
        <option value="">Examples…</option>
        <option value="default">Default txt2img</option>
        {examples.map((x) => (
          <option key={x.file} value={x.file} title={x.description}>
            {x.name}
          </option>
        ))}
      </select>
      <button onClick={() => run('undo')} disabled={!canUndo} title="Undo (Ctrl+Z)">↶</button>
      <button onClick={() => run('redo')} disabled={!canRedo} title="Redo (Ctrl+Y)">↷</button>
      <span class="title" title={name}>
        {name}
        {dirty ? ' •' : ''}
      </span>
      {demo ? (
        <button class="demo-badge" data-testid="demo-badge" onClick={() => run('panel.models')} title="The demo checkpoint has random weights. Get a real model in the model manager.">
          demo model: images are noise
        </button>
      ) : null}
      <span class={connected ? 'conn ok' : 'conn'} title={connected ? 'connected' : 'disconnected'} />
      {(['queue', 'gallery', 'models', 'settings'] as const).map((p) => (
        <button key={p} onClick={() => run(`panel.${p}`)}>
          {PANEL_LABELS[p]}
        </button>
      ))}
      <button class="queue-btn" onClick={() => run('queue')} title="Queue (Ctrl+Enter)">
        Queue{remaining > 0 ? ` (${remaining})` : ''}
        {progress.promptId ? ` ${Math.round(overall * 100)}%` : ''}
      </button>
      <div class="global-progress" data-testid="global-progress" style={{ width: `${overall * 100}%` }} />
    </header>
  );
}
