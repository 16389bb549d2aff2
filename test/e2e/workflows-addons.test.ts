/**
 * The add-on examples of workflows/ (hypernetwork, ControlNet Union on SDXL, LoRA on FLUX, GLIGEN boxes,
 * IP-Adapter with an attention mask) run end to end on tiny stand-ins with the checks every example gets
 * (support/example.ts) and a check that the add-on visibly acts (support/addon-checks.ts). Each runs in a
 * models folder of its own: the GLIGEN example's SD1.5 stand-in needs 64-channel blocks under the same name
 * the others use.
 */
import { test } from 'node:test';
import path from 'node:path';
import { ADDON_CHECKS } from './support/addon-checks.ts';
import { runExample } from './support/example.ts';
import { createRunner } from './support/run.ts';

const dir = path.resolve(import.meta.dirname, '../../workflows');

for (const [file, { what, check }] of Object.entries(ADDON_CHECKS)) {
  test(`workflow ${file}: runs on tiny models; ${what}`, async (t) => {
    const runner = createRunner();
    const run = await runExample(runner, path.join(dir, file), t);
    if (run) await check(runner, run.prompt, run.images);
  });
}
