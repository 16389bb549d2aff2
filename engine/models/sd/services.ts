/**
 * The model runtime as a node service: one ModelService per process (created by the composition root or
 * a test) reaches nodes as `ctx.services.models`. Optional in the type so model-free hosts and tests that
 * only pass folders keep compiling; nodes that need it get a clear error instead.
 */
import os from 'node:os';
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import type { EngineServices } from '../../graph/context.ts';
import { setDefaultModelService } from '../../runtime/default.ts';
import { ModelService, type ModelServiceOptions } from '../../runtime/service.ts';

declare module '../../graph/context.ts' {
  interface EngineServices {
    /** Worker-thread ORT sessions shared by every node of the process (UNet, VAE, text encoders, …). */
    models?: ModelService;
    /** Where PyTorch checkpoints are converted to safetensors once; default: the OS temp folder. */
    modelCacheDir?: string;
  }
}

export function requireModels(services: EngineServices): ModelService {
  const m = services.models;
  if (!m) {
    throw new WeftError('no model runtime is configured in this host (services.models is missing); run through `weft run` or pass a ModelService', { type: 'model_runtime_missing' });
  }
  return m;
}

export function cacheDirOf(services: EngineServices): string {
  return services.modelCacheDir ?? path.join(os.tmpdir(), 'weft-converted-models');
}

/** The services `weft run` / `weft serve` hand to nodes: folders plus one model runtime. */
export function createModelServices<F extends EngineServices['folders']>(folders: F, opts: ModelServiceOptions = {}): EngineServices & { models: ModelService } {
  const models = new ModelService(opts);
  // Code paths without a node context (text encoders shared across CLIP clones) reach the workers through
  // the process default; the service clears it when it closes.
  setDefaultModelService(models);
  return { folders, models };
}
