/**
 * End to end without replay: the conformance runner's SDE sample cases go through ksample with the tiny
 * UNet, their Brownian noise coming from the torchsde port (the handler only compares, never feeds, the
 * recorded aux.noise_draws), and each final latent must be within the case tolerance of ComfyUI's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runConformance } from '../../../engine/conformance/runner.ts';

const conf = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/conformance');
const why = fs.existsSync(path.join(conf, 'cases.json')) ? false : `${conf} not found (a clone without ../shared has no golden data)`;
const CASES = ['sample_dpmpp_sde_normal', 'sample_dpmpp_2m_sde_karras', 'sample_dpmpp_3m_sde_exponential'];

test('conformance: SDE sample cases pass with noise from the torchsde BrownianTree port', { skip: why }, async () => {
  const s = await runConformance(conf, { only: CASES, log: () => {} });
  const report = s.lines.join('\n');
  assert.deepEqual({ passed: s.passed, failed: s.failed, skipped: s.skipped }, { passed: 3, failed: 0, skipped: 0 }, report);
  for (const name of CASES) {
    const line = s.lines.find((l) => l.startsWith(`PASS ${name} `));
    assert.ok(line, `${name} missing from:\n${report}`);
    assert.match(line, /noise: torchsde BrownianTree/);
    assert.doesNotMatch(line, /recorded/);
  }
});
