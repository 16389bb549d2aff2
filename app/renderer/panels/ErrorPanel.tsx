import type { AppStore } from '../store.ts';
import { useStore, type Run } from './use-store.ts';

/** node_errors from a refused prompt and execution_error from a failed run, with a jump to the node. */
export function ErrorPanel({ store, run }: { store: AppStore; run: Run }) {
  const nodeErrors = useStore(store, (s) => s.nodeErrors);
  const execError = useStore(store, (s) => s.executionError);
  const message = useStore(store, (s) => s.message);
  const entries = Object.entries(nodeErrors);
  if (!message && !execError && entries.length === 0) return null;
  return (
    <div class="error-panel" role="alert">
      <button class="close" onClick={() => run('clearErrors')}>✕</button>
      {message ? <p class="message">{message}</p> : null}
      {entries.map(([id, e]) => (
        <div key={id} class="node-error">
          <button class="link" onClick={() => run('focusNode', id)}>
            #{id} {e.class_type}
          </button>
          <ul>
            {e.errors.map((x, i) => (
              <li key={i}>
                {x.message}
                {x.extra_info?.input_name ? ` (${x.extra_info.input_name})` : ''}
                {x.details ? `: ${x.details}` : ''}
              </li>
            ))}
          </ul>
        </div>
      ))}
      {execError ? (
        <div class="node-error">
          <button class="link" onClick={() => run('focusNode', execError.nodeId)}>
            #{execError.nodeId} {execError.nodeType}
          </button>
          <p>{execError.message}</p>
        </div>
      ) : null}
    </div>
  );
}
