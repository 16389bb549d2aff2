/**
 * Running a real workflow on tiny models through the real executor, and reading back what it wrote.
 * One environment (folders + one ModelService) serves many workflows so sessions of shared model names
 * load once per test file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Executor, type RunResult } from '../../../engine/execute/executor.ts';
import { readPngText } from '../../../engine/io/png.ts';
import type { ApiPrompt } from '../../../engine/workflow/index.ts';
import type { NodeRegistry } from '../../../engine/graph/registry.ts';
import { createRegistry } from '../../../nodes/index.ts';
import { tempEnv, type Env } from '../helpers.ts';
import { shrinkPrompt } from './shrink.ts';
import { pngSize, type Size } from './sizes.ts';
import { makeTinyModels, type TinyModels } from './tiny-models.ts';

export { shrinkPrompt } from './shrink.ts';
export { makeTinyModels, SHARED_EXAMPLES } from './tiny-models.ts';
export { expectedSize, pngSize } from './sizes.ts';

export interface Runner {
  env: Env;
  registry: NodeRegistry;
  executor: Executor;
  /** Node warnings (ctx.warn) of every run, "node_type: message". */
  warnings: string[];
}

export function createRunner(): Runner {
  const env = tempEnv();
  for (const d of ['loras', 'embeddings', 'upscale_models', 'controlnet']) fs.mkdirSync(path.join(env.base, 'models', d), { recursive: true });
  const registry = createRegistry();
  const r: Runner = { env, registry, executor: undefined as never, warnings: [] };
  freshExecutor(r);
  return r;
}

/** A new executor (empty output cache) on the same services: loaded sessions are kept. */
export function freshExecutor(r: Runner): Executor {
  r.executor = new Executor({ registry: r.registry, services: r.env.services });
  r.executor.on('warning', (w) => r.warnings.push(`${w.node_type}: ${w.message}`));
  return r.executor;
}

/** Node types of an API prompt the registry cannot run (unknown, or declared without `run`). */
export function unrunnableTypes(registry: NodeRegistry, prompt: ApiPrompt): string[] {
  return [...new Set(Object.values(prompt).map((n) => n.class_type))].filter((t) => typeof registry.get(t)?.run !== 'function').sort();
}

/** The shrunk prompt with its stand-in models and inputs written into the runner's folders. */
export async function prepare(r: Runner, prompt: ApiPrompt): Promise<{ prompt: ApiPrompt; tiny: TinyModels }> {
  const small = shrinkPrompt(prompt);
  return { prompt: small, tiny: await makeTinyModels(r.env.base, small) };
}

export interface SavedImage {
  nodeId: string;
  classType: string;
  file: string;
  size: Size;
  /** PNG text chunks (prompt, workflow). */
  text: Record<string, string>;
  bytes: Buffer;
}

/** Every image the output nodes of a run wrote, in node-id order. */
export function savedImages(r: Runner, prompt: ApiPrompt, result: RunResult): SavedImage[] {
  const out: SavedImage[] = [];
  for (const [nodeId, ui] of Object.entries(result.outputs).sort(([a], [b]) => Number(a) - Number(b))) {
    const images = (ui as { images?: Array<{ filename: string; subfolder: string; type: string }> }).images ?? [];
    for (const img of images) {
      const root = img.type === 'temp' ? r.env.folders.tempDir : r.env.folders.outputDir;
      const file = path.join(root, img.subfolder, img.filename);
      const bytes = fs.readFileSync(file);
      out.push({ nodeId, classType: prompt[nodeId]!.class_type, file, size: pngSize(bytes), text: readPngText(bytes), bytes });
    }
  }
  return out;
}

/** Runs and fails with the engine's own error message when the run did not succeed. */
export async function runOk(r: Runner, id: string, prompt: ApiPrompt, extraPngInfo?: Record<string, unknown>): Promise<RunResult> {
  const res = await r.executor.execute(id, prompt, extraPngInfo ? { extraPngInfo } : {});
  if (res.status !== 'success') throw new Error(`${id}: ${res.status}: ${JSON.stringify(res.error ?? res.messages.at(-1))}`);
  return res;
}
