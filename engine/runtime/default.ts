/**
 * The process-wide model service, for code that runs models without a node context at hand (text
 * encoders created by shared caches, conformance helpers, scripts). The composition root (`weft run`,
 * `weft serve`, the Electron main process) sets it next to `ctx.services.models`; code that has a ctx
 * should pass that service explicitly. Nothing sets it implicitly, so a test or library that creates its
 * own ModelService never redirects another's sessions. Closing the service clears it.
 */
import type { ModelService } from './service.ts';

let current: ModelService | undefined;

export function setDefaultModelService(service: ModelService | undefined): void {
  current = service;
}

export function defaultModelService(): ModelService | undefined {
  return current;
}

/** Called by ModelService.close(): a closed service must not stay the default. */
export function clearDefaultModelService(service: ModelService): void {
  if (current === service) current = undefined;
}
