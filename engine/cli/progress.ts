import type { TypedEmitter } from '../execute/events.ts';
import type { ExecutorEvents } from '../execute/events.ts';
import type { ApiPrompt } from '../workflow/api.ts';
import { upstreamClosure } from '../validate/prompt.ts';
import type { CliIO } from './env.ts';

/**
 * Shows which node runs and its step count on stderr: a redrawn bar on a terminal, plain lines
 * (one per node, and every 10% of steps) when piped.
 */
export function attachProgress(events: TypedEmitter<ExecutorEvents>, prompt: ApiPrompt, io: CliIO, outputs: readonly string[]): () => void {
  const tty = io.stderr.isTTY === true;
  let done = 0;
  let total = 0;
  let open = false;
  let lastPct = -1;
  const label = (id: string) => {
    const n = prompt[id];
    const title = n?._meta?.title;
    return `#${id} ${n?.class_type ?? '?'}${title && title !== n?.class_type ? ` "${title}"` : ''}`;
  };
  const endLine = () => {
    if (open) io.stderr.write('\n');
    open = false;
  };
  const offs = [
    events.on('execution_cached', (d) => {
      total = countToRun(prompt, outputs, new Set(d.nodes));
    }),
    events.on('executing', (d) => {
      if (d.node === null) return;
      endLine();
      done++;
      lastPct = -1;
      io.stderr.write(`[${done}/${total}] ${label(d.node)}\n`);
    }),
    events.on('progress', (d) => {
      const frac = d.max > 0 ? Math.min(1, d.value / d.max) : 0;
      if (tty) {
        const width = Math.max(10, Math.min(40, (io.stderr.columns ?? 80) - 30));
        const fill = Math.round(frac * width);
        io.stderr.write(`\r  [${'#'.repeat(fill)}${' '.repeat(width - fill)}] step ${d.value}/${d.max}`);
        open = true;
        if (d.value >= d.max) endLine();
      } else {
        const pct = Math.floor(frac * 10);
        if (pct !== lastPct) {
          lastPct = pct;
          io.stderr.write(`  step ${d.value}/${d.max}\n`);
        }
      }
    }),
    events.on('warning', (d) => {
      endLine();
      io.stderr.write(`  warning (${label(d.node)}): ${d.message}\n`);
    }),
  ];
  return () => {
    endLine();
    for (const off of offs) off();
  };
}

/** Nodes that will run: walking up from the outputs, stopping at cached ones (as the executor does). */
function countToRun(prompt: ApiPrompt, outputs: readonly string[], cached: Set<string>): number {
  return upstreamClosure(prompt, outputs, (id) => cached.has(id)).size;
}
