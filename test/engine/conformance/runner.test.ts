/**
 * The runner on a tiny conformance folder built here: a randn case whose expected value is the torch fact
 * torch.manual_seed(0); torch.randn(1) = 1.5409960746765137, the same case with the value corrupted, and a
 * case no handler knows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeSafetensors } from '../../../engine/io/safetensors.ts';
import { compareTensor } from '../../../engine/conformance/runner.ts';

function randnCase(name: string, file: string, seed: string) {
  return {
    name, file, function: 'torch.randn', params: { seed: '__SEED__', shapes: [[1]] }, inputs: {},
    expected: { randn_1: { tensor: 'expected.randn_1', shape: [1], dtype: 'float32' } },
    tolerance: { abs: 2e-6, rel_to_max: 0 }, note: `seed ${seed}`,
  };
}

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-conf-'));
  writeSafetensors(join(dir, 'good.safetensors'), { 'expected.randn_1': { dtype: 'F32', shape: [1], data: Float32Array.of(1.5409960746765137) } });
  writeSafetensors(join(dir, 'bad.safetensors'), { 'expected.randn_1': { dtype: 'F32', shape: [1], data: Float32Array.of(1.55) } });
  const cases = [randnCase('randn_good', 'good.safetensors', '0'), randnCase('randn_bad', 'bad.safetensors', '0'),
    { name: 'mystery_case', file: 'good.safetensors', function: '?', params: {}, inputs: {}, expected: {}, tolerance: { abs: 0, rel_to_max: 0 } }];
  // 2^64 (low 32 bits 0) written as a bare integer: the runner must keep it exact.
  const text = JSON.stringify({ conventions: {}, cases }).replaceAll('"__SEED__"', '18446744073709551616');
  writeFileSync(join(dir, 'cases.json'), text);
  return dir;
}

function run(dir: string, ...extra: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'engine/conformance/main.ts', dir, ...extra], { encoding: 'utf8' });
}

test('prints PASS/FAIL/SKIP lines and the summary, exits 1 on a failure', () => {
  const dir = folder();
  try {
    const r = run(dir);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines.find((l) => l.includes('randn_good'))!, /^PASS randn_good err=\S+ tol=2\.000e-6/);
    assert.match(lines.find((l) => l.includes('randn_bad'))!, /^FAIL randn_bad err=\S+ tol=\S+ \[randn_1/);
    assert.match(lines.find((l) => l.includes('mystery_case'))!, /^SKIP mystery_case no handler/);
    assert.equal(lines.at(-1), '1 passed, 1 failed, 1 skipped');
    assert.equal(r.status, 1);
    const only = run(dir, '--only', 'randn_good');
    assert.equal(only.status, 0);
    assert.equal(only.stdout.trim().split('\n').at(-1), '1 passed, 0 failed, 0 skipped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tolerance rule: abs + rel_to_max·max|expected|, NaN fails', () => {
  const exp = Float32Array.of(10, -20);
  assert.equal(compareTensor(Float32Array.of(10.04, -20), exp, { abs: 0.01, rel_to_max: 0.002 }).ok, true);
  assert.equal(compareTensor(Float32Array.of(10.06, -20), exp, { abs: 0.01, rel_to_max: 0.002 }).ok, false);
  assert.equal(compareTensor(Float32Array.of(NaN, -20), exp, { abs: 1, rel_to_max: 1 }).ok, false);
  assert.equal(compareTensor(Float32Array.of(1), exp, { abs: 1, rel_to_max: 1 }).ok, false);
});
