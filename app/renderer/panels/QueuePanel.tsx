import type { Api } from '../api.ts';
import type { AppStore } from '../store.ts';
import { useStore, type Run } from './use-store.ts';

export function QueuePanel({ store, api, run }: { store: AppStore; api: Api; run: Run }) {
  const queue = useStore(store, (s) => s.queue);
  const history = useStore(store, (s) => s.history);
  return (
    <section class="panel queue-panel">
      <h2>Queue</h2>
      <div class="row">
        <button onClick={() => run('interrupt')}>Interrupt</button>
        <button onClick={() => run('clearQueue')}>Clear queue</button>
      </div>
      {queue.length === 0 ? <p class="muted">Nothing queued.</p> : null}
      <ul>
        {queue.map((q) => (
          <li key={q.promptId} class={q.status}>
            #{q.number} {q.status}
            {q.status === 'pending' ? <button onClick={() => run('cancel', q.promptId)}>✕</button> : null}
          </li>
        ))}
      </ul>
      <h2>History</h2>
      <ul class="history">
        {history.map((h) => (
          <li key={h.promptId} class={h.status}>
            <span>{h.status}</span>
            {h.images.slice(0, 4).map((img) => (
              <img key={img.filename} src={api.viewUrl(img)} alt={img.filename} />
            ))}
            {h.workflow || h.prompt ? <button onClick={() => run('loadHistory', h.promptId)}>Load</button> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
