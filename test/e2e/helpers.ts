/**
 * Shared fixtures of the model-glue tests: temp folders with tiny generated checkpoints, one real
 * ModelService (worker threads, single-threaded sessions), and a NodeContext that records progress for
 * calling node run() functions directly. Nothing here stands in for engine code.
 */
import { after } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InterruptedError } from '../../engine/errors.ts';
import { createFolders, type WeftFolders } from '../../engine/io/folders.ts';
import type { EngineServices, NodeContext } from '../../engine/graph/context.ts';
import { ModelService } from '../../engine/runtime/service.ts';
import { writeSdCheckpoint, type SdFixtureOptions } from '../../engine/models/fixtures/sd.ts';
import type { Conditioning } from '../../engine/graph/sockets.ts';
import type { Tensor } from '../../engine/tensor/tensor.ts';
import '../../engine/models/sd/services.ts';
import { rand } from '../support/tensors.ts';
export { maxDiff, rand } from '../support/tensors.ts';

/**
 * A VAE with the real 8× scale (four levels) and widths divisible into GroupNorm's 32 groups; the
 * fixture default (16 wide, two levels) does not build.
 */
export const TINY_VAE = { vaeCh: 32, vaeChMult: [1, 1, 1, 1] } as const satisfies Partial<SdFixtureOptions>;

export interface Env {
  base: string;
  folders: WeftFolders;
  services: EngineServices & { models: ModelService };
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

export function tempEnv(): Env {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-sd-'));
  for (const d of ['models/checkpoints', 'models/diffusion_models', 'models/vae', 'input', 'output', 'temp']) fs.mkdirSync(path.join(base, d), { recursive: true });
  const folders = createFolders({
    modelsDir: path.join(base, 'models'), inputDir: path.join(base, 'input'), outputDir: path.join(base, 'output'), tempDir: path.join(base, 'temp'),
  });
  const models = new ModelService({ threads: 1 });
  cleanups.push(async () => {
    await models.close();
    fs.rmSync(base, { recursive: true, force: true });
  });
  return { base, folders, services: { folders, models, modelCacheDir: path.join(base, 'temp') } };
}

/** Writes a tiny checkpoint into models/checkpoints and returns its name. */
export function addCheckpoint(env: Env, name: string, o: SdFixtureOptions): string {
  writeSdCheckpoint(path.join(env.base, 'models', 'checkpoints', name), { ...TINY_VAE, vaeChMult: [...TINY_VAE.vaeChMult], ...o });
  return name;
}

export interface Recorder {
  ctx: NodeContext;
  progress: [number, number][];
  previews: number;
  abort: AbortController;
}

export function recordingContext(env: Env, classType: string, onProgress?: (value: number, max: number) => void): Recorder {
  const abort = new AbortController();
  const rec: Recorder = { ctx: undefined as never, progress: [], previews: 0, abort };
  rec.ctx = {
    nodeId: '1', classType, promptId: 'test', signal: abort.signal, services: env.services, prompt: {}, extraPngInfo: undefined,
    progress(value, max, preview) {
      rec.progress.push([value, max]);
      if (preview) rec.previews++;
      onProgress?.(value, max);
      if (abort.signal.aborted) throw new InterruptedError();
    },
    checkAbort() {
      if (abort.signal.aborted) throw new InterruptedError();
    },
    warn() {},
  };
  return rec;
}

export function cond(width: number, seed: number, extra: Record<string, unknown> = {}): Conditioning {
  return [[rand([1, 77, width], seed), extra]];
}

