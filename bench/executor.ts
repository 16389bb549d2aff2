/**
 * Engine overhead of the executor on a 500-node synthetic graph of trivial nodes:
 * full run, cached re-run, and re-run after one leaf widget change. Target: cached re-run < 5 ms.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineNode } from '../engine/graph/node.ts';
import { NodeRegistry } from '../engine/graph/registry.ts';
import { createFolders } from '../engine/io/folders.ts';
import { Executor } from '../engine/execute/executor.ts';
import type { ApiPrompt } from '../engine/validate/prompt.ts';

const N = 500;
const TARGET_MS = 5;
let executed = 0;

const Source = defineNode({
  name: 'BenchSource',
  category: 'bench',
  inputs: { required: { value: { type: 'FLOAT', default: 0 }, label: { type: 'STRING', default: '' } } },
  outputs: [{ type: 'FLOAT' }],
  run: ({ value }) => {
    executed++;
    return [value];
  },
});
const Combine = defineNode({
  name: 'BenchCombine',
  category: 'bench',
  inputs: { required: { a: { type: 'FLOAT' }, b: { type: 'FLOAT' }, scale: { type: 'FLOAT', default: 1 }, mode: { type: 'COMBO', options: ['add', 'mul'] } } },
  outputs: [{ type: 'FLOAT' }],
  run: ({ a, b, scale, mode }) => {
    executed++;
    return [(mode === 'add' ? a + b : a * b) * scale];
  },
});
const Sink = defineNode({
  name: 'BenchSink',
  category: 'bench',
  inputs: { required: { value: { type: 'FLOAT' } } },
  outputs: [],
  outputNode: true,
  run: ({ value }) => {
    executed++;
    return { ui: { value: [value] } };
  },
});

/** 50 leaves, 440 combiners each linking two earlier nodes (a chain from leaf 50, whose value varies), 10 sinks. */
function buildPrompt(leafValue: number): ApiPrompt {
  const p: ApiPrompt = {};
  const leaves = 50;
  const sinks = 10;
  for (let i = 1; i <= leaves; i++) p[String(i)] = { class_type: 'BenchSource', inputs: { value: i === leaves ? leafValue : i, label: `leaf ${i}` } };
  for (let i = leaves + 1; i <= N - sinks; i++) {
    const a = String(i - 1);
    const b = String(1 + ((i * 7919) % (i - 1)));
    p[String(i)] = { class_type: 'BenchCombine', inputs: { a: [a, 0], b: [b, 0], scale: 1.0001, mode: i % 2 ? 'add' : 'mul' } };
  }
  for (let s = 0; s < sinks; s++) p[String(N - sinks + 1 + s)] = { class_type: 'BenchSink', inputs: { value: [String(N - sinks - s * 7), 0] } };
  return p;
}

async function measure(ex: Executor, id: string, prompt: ApiPrompt) {
  executed = 0;
  const t0 = performance.now();
  const r = await ex.execute(id, prompt);
  const ms = performance.now() - t0;
  if (r.status !== 'success') throw new Error(`bench run failed: ${JSON.stringify(r.error)}`);
  return { ms, executed };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'));
const folders = createFolders({ modelsDir: path.join(root, 'models'), inputDir: path.join(root, 'input'), outputDir: path.join(root, 'output'), tempDir: path.join(root, 'temp') });
const registry = new NodeRegistry().register(Source, Combine, Sink);

// Warm up the JIT on a separate executor so the measured cache starts empty.
for (let i = 0; i < 20; i++) {
  const w = new Executor({ registry, services: { folders } });
  await w.execute('w', buildPrompt(i));
  await w.execute('w', buildPrompt(i));
}

const ex = new Executor({ registry, services: { folders } });
const reps = 15;
const full: number[] = [];
const cached: number[] = [];
const leaf: number[] = [];
let counts = { full: 0, cached: 0, leaf: 0 };
for (let r = 0; r < reps; r++) {
  ex.cache.clear();
  const a = await measure(ex, `full${r}`, buildPrompt(1000 + r));
  const b = await measure(ex, `cached${r}`, buildPrompt(1000 + r));
  const c = await measure(ex, `leaf${r}`, buildPrompt(2000 + r));
  full.push(a.ms);
  cached.push(b.ms);
  leaf.push(c.ms);
  counts = { full: a.executed, cached: b.executed, leaf: c.executed };
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const f = median(full);
const c = median(cached);
const l = median(leaf);
console.log(`executor overhead, ${N}-node graph (median of ${reps}):`);
console.log(`  full run:            ${f.toFixed(2)} ms, ${counts.full} nodes executed`);
console.log(`  cached re-run:       ${c.toFixed(2)} ms, ${counts.cached} nodes executed`);
console.log(`  one leaf changed:    ${l.toFixed(2)} ms, ${counts.leaf} nodes executed`);
console.log(`  cached / full ratio: ${(c / f).toFixed(3)}`);
console.log(`${c < TARGET_MS ? 'PASS' : 'FAIL'}: cached re-run ${c.toFixed(2)} ms vs target < ${TARGET_MS} ms`);
fs.rmSync(root, { recursive: true, force: true });
process.exitCode = c < TARGET_MS ? 0 : 1;
