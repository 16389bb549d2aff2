/**
 * The offline first-run demo model: a tiny SD1-layout checkpoint with random weights, written once into
 * models/checkpoints so the default workflow runs end to end without a download. Its images are noise;
 * the name says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeSdCheckpoint } from './fixtures/sd.ts';

export const DEMO_CHECKPOINT = 'weft-demo-tiny-sd15 (noise).safetensors';

/** Writes the demo checkpoint if it is missing; returns its name in the checkpoints folder. */
export function ensureDemoCheckpoint(modelsDir: string): string {
  const dir = path.join(modelsDir, 'checkpoints');
  const file = path.join(dir, DEMO_CHECKPOINT);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    // 32 wide: GroupNorm's group count; four levels: the real 8× latent scale.
    writeSdCheckpoint(tmp, { family: 'sd1', seed: 1234, vaeCh: 32, vaeChMult: [1, 1, 1, 1] });
    fs.renameSync(tmp, file); // atomic: a crash never leaves a half-written checkpoint behind
  }
  return DEMO_CHECKPOINT;
}
