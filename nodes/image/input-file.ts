/** Shared by LoadImage and LoadImageMask: ComfyUI's IS_CHANGED (file sha256) and VALIDATE_INPUTS. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IsChangedContext } from '../../engine/graph/node.ts';

export function inputFileHash(inputs: Record<string, unknown>, ctx: IsChangedContext): unknown {
  try {
    const file = ctx.folders.resolveInput(String(inputs.image));
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    // A missing file fails validation and the run with a clear error; never serve a cached result.
    return NaN;
  }
}

export function inputFileExists(inputs: Record<string, unknown>, ctx: IsChangedContext): true | string {
  try {
    ctx.folders.resolveInput(String(inputs.image));
    return true;
  } catch {
    return `Invalid image file: ${String(inputs.image)}`;
  }
}
