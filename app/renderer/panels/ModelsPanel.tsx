import type { AppStore } from '../store.ts';
import { useStore, type Run } from './use-store.ts';

function mb(n: number): string {
  return `${(n / 1048576).toFixed(0)} MB`;
}

export function ModelsPanel({ store, run }: { store: AppStore; run: Run }) {
  const items = useStore(store, (s) => s.catalogue);
  const downloads = useStore(store, (s) => s.downloads);
  const demo = useStore(store, (s) => s.demoModel);
  return (
    <section class="panel models-panel">
      <h2>Models</h2>
      {demo ? (
        <p class="first-run">
          No model installed yet. The graph uses Weft's tiny demo checkpoint so it runs offline, but its images are noise. Download a checkpoint
          below, then pick it in Load Checkpoint.
        </p>
      ) : null}
      <button onClick={() => run('refreshModels')}>Refresh</button>
      {items.length === 0 ? <p class="muted">The server lists no catalogue.</p> : null}
      <ul>
        {items.map((m) => {
          const key = `${m.folder}/${m.filename}`;
          const d = downloads[key];
          return (
            <li key={key}>
              <div class="model-name">{m.name ?? m.filename}</div>
              <div class="muted">
                {m.folder} · {m.filename}
              </div>
              {m.installed || d?.done ? (
                <span class="ok">installed</span>
              ) : d ? (
                d.error ? (
                  <span class="err">{d.error}</span>
                ) : (
                  <progress max={d.total || 1} value={d.received}>
                    {d.total ? `${mb(d.received)} / ${mb(d.total)}` : mb(d.received)}
                  </progress>
                )
              ) : (
                <button onClick={() => run('download', m)}>Download</button>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
