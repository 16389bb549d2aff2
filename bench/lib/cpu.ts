/** One line naming the CPU a bench ran on: model, cores, and the SIMD width ORT's kernels can use. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

export function cpuSummary(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  let simd = 'SIMD unknown';
  try {
    const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(/\s+/));
    simd = flags.has('avx512f') ? 'AVX-512' : flags.has('avx2') ? 'AVX2, no AVX-512' : flags.has('avx') ? 'AVX' : 'SSE';
  } catch {
    // not Linux: the model name is enough
  }
  return `${model}, ${availableParallelism()} logical cores, ${simd}`;
}
