/**
 * Event-loop responsiveness during some async work: how long the loop went without running a timer.
 * Two views, because they answer different questions: the tick gap (a 2 ms interval's largest gap between
 * firings) is the stall a UI would see; perf_hooks' histogram gives the distribution (p99) of timer lateness.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopDelay {
  /** Wall time of the work. */
  ms: number;
  /** Longest time between two ticks of a 2 ms interval (includes the 2 ms period itself). */
  maxGapMs: number;
  /** Event-loop delay percentiles from monitorEventLoopDelay (timer lateness, resolution 5 ms). */
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** What `where()` said when the longest gap ended (e.g. the executing node), if given. */
  maxGapAt?: string;
}

export async function measureLoopDelay<T>(work: () => Promise<T>, where?: () => string): Promise<{ result: T; delay: LoopDelay }> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  let last = performance.now();
  let maxGap = 0;
  let maxGapAt: string | undefined;
  const tick = (): void => {
    const now = performance.now();
    if (now - last > maxGap) { maxGap = now - last; maxGapAt = where?.(); }
    last = now;
  };
  const iv = setInterval(tick, 2);
  h.enable();
  const t0 = performance.now();
  try {
    const result = await work();
    const ms = performance.now() - t0;
    // A stall that ends with the work has not been seen by a tick yet.
    tick();
    return { result, delay: { ms, maxGapMs: maxGap, maxGapAt, p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6, meanMs: h.mean / 1e6 } };
  } finally {
    h.disable();
    clearInterval(iv);
  }
}
