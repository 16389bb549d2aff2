/**
 * The torchsde BrownianTree port. Golden check: queried at the sigmas ComfyUI queried (aux.noise_draw_sigmas,
 * in its order, since a query's decomposition depends on earlier splits), the port must give ComfyUI's
 * draws (aux.noise_draws) to float32 rounding. The remaining tests are properties of a Brownian motion
 * and of the tree that hold for any seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parseCasesJson, readCaseTensors } from '../../../engine/conformance/runner.ts';
import { BrownianInterval, BrownianTree, torchsdeNoiseSampler } from '../../../engine/sampling/torchsde/index.ts';
import { brownianNoiseSampler } from '../../../engine/sampling/brownian.ts';

const DIR = new URL('../../../../shared/conformance/', import.meta.url).pathname;
const SDE = ['dpmpp_sde', 'dpmpp_2m_sde', 'dpmpp_3m_sde'];
const cases = existsSync(DIR + 'cases.json')
  ? (parseCasesJson(readFileSync(DIR + 'cases.json', 'utf8')) as { cases: any[] }).cases.filter(
      (c) => SDE.includes(c.params?.sampler) && c.params?.noise_sampler === 'brownian_tree' && c.aux?.noise_draws && c.aux?.noise_draw_sigmas,
    )
  : [];

test('reproduces ComfyUI BrownianTreeNoiseSampler draws of every SDE case', { skip: cases.length === 0 && 'no shared conformance folder' }, () => {
  assert.ok(cases.length >= 3, 'expected the three SDE sample cases');
  const seen = new Set<string>();
  for (const c of cases) {
    seen.add(c.params.sampler);
    const t = readCaseTensors(DIR + c.file);
    const sigmas = t.get(c.aux.sigmas.tensor)!.data as Float32Array;
    const draws = t.get(c.aux.noise_draws.tensor)!.data as Float32Array;
    const at = t.get(c.aux.noise_draw_sigmas.tensor)!.data as Float32Array;
    const k = at.length / 2;
    const n = draws.length / k;
    const sample = brownianNoiseSampler(n, sigmas, BigInt(c.params.seed));
    let worst = 0;
    let exact = 0;
    for (let q = 0; q < k; q++) {
      const w = sample(at[2 * q]!, at[2 * q + 1]!);
      assert.equal(w.length, n);
      for (let i = 0; i < n; i++) {
        const e = draws[q * n + i]!;
        const d = Math.abs(w[i]! - e);
        // float32 rounding: torch's vectorised randn is itself within 1 ulp of ours, and a node's increment
        // chains a few such draws, so allow 4 ulp of the value (and never more than 1e-6 absolute).
        assert.ok(d <= Math.min(1e-6, 4 * 2 ** -23 * Math.max(1, Math.abs(e))), `${c.name} draw ${q} [${i}]: ${w[i]} vs ${e}`);
        worst = Math.max(worst, d);
        if (d === 0) exact++;
      }
    }
    // Most values must agree to the bit; a systematic error (wrong seed, order, split) would leave none.
    assert.ok(exact > 0.5 * k * n, `${c.name}: only ${exact}/${k * n} bit-exact`);
    console.log(`${c.name}: ${k} draws, max |Δ| ${worst.toExponential(2)}, ${exact}/${k * n} bit-exact`);
  }
  assert.deepEqual([...seen].sort(), [...SDE].sort());
});

test('a seed gives the same draws; another seed gives different ones', () => {
  const sigmas = Float32Array.from([14.6, 7.1, 3.3, 1.2, 0.5, 0.03, 0]);
  const run = (seed: bigint): Float32Array[] => {
    const s = torchsdeNoiseSampler(64, 0.03, 14.6, seed);
    return [0, 1, 2, 3, 4].map((i) => s(sigmas[i]!, sigmas[i + 1]!));
  };
  const a = run(42n);
  assert.deepEqual(run(42n), a);
  assert.notDeepEqual(run(43n), a);
  // Seeds beyond 32 bits reach SeedSequence whole (torch would only see the low word).
  assert.notDeepEqual(run(42n + 2n ** 32n), a);
});

test('brownianNoiseSampler defaults to the torchsde port; the old path stays opt-in', () => {
  const sigmas = Float32Array.from([10, 4, 1.5, 0.4, 0.05, 0]);
  const def = brownianNoiseSampler(32, sigmas, 7);
  const port = torchsdeNoiseSampler(32, 0.05, 10, 7n);
  const weft = brownianNoiseSampler(32, sigmas, 7, 'weft');
  for (let i = 0; i < 4; i++) {
    const d = def(sigmas[i]!, sigmas[i + 1]!);
    assert.deepEqual(d, port(sigmas[i]!, sigmas[i + 1]!));
    assert.notDeepEqual(d, weft(sigmas[i]!, sigmas[i + 1]!));
  }
});

test('the sampler sorts its query and flips the sign of a downward step', () => {
  const up = torchsdeNoiseSampler(48, 0.1, 5, 3n)(0.7, 2.5);
  const down = torchsdeNoiseSampler(48, 0.1, 5, 3n)(2.5, 0.7);
  assert.deepEqual(down, up.map((v) => -v));
  const tree = new BrownianTree({ t0: 0.1, t1: 5, size: 48, entropy: 3n });
  const w = tree.call(Math.fround(0.7), Math.fround(2.5));
  const d = Math.fround(Math.sqrt(Math.fround(Math.fround(2.5) - Math.fround(0.7))));
  assert.deepEqual(up, w.map((v) => Math.fround(v / d)));
});

test('increments add up: W(a, c) = W(a, b) + W(b, c) to float32 rounding', () => {
  const bi = new BrownianInterval({ t0: 0, t1: 4, size: 200, entropy: 9n, tol: 1e-6, poolSize: 24 });
  const ab = bi.increment(0.3, 1.7);
  const bc = bi.increment(1.7, 3.1);
  const ac = bi.increment(0.3, 3.1);
  for (let i = 0; i < ab.length; i++) assert.ok(Math.abs(ab[i]! + bc[i]! - ac[i]!) < 1e-5, `[${i}]`);
  // Point evaluation is the increment from t0, plus w0.
  const w0 = new Float32Array(200).fill(2);
  const tree = new BrownianTree({ t0: 0, t1: 4, size: 200, entropy: 9n, w0 });
  const at = tree.call(1.7);
  const inc = tree.call(0, 1.7);
  for (let i = 0; i < at.length; i++) assert.equal(at[i], Math.fround(inc[i]! + 2));
  assert.deepEqual(tree.call(2, 2), new Float32Array(200));
});

test('the halfway tree makes the path independent of query order', () => {
  const fresh = (): BrownianInterval => new BrownianInterval({ t0: 0.03, t1: 14.6, size: 64, entropy: 5n, tol: 1e-6, poolSize: 24 });
  const a = fresh();
  const target = a.increment(2.2, 5.9);
  const b = fresh();
  for (const [x, y] of [[0.05, 0.4], [9, 14], [3, 4], [1, 2.2]] as const) b.increment(x, y);
  const again = b.increment(2.2, 5.9);
  // Earlier splits may decompose the query into more nodes: equal up to float32 summation.
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(again[i]! - target[i]!) < 1e-5);
});

test('increments are Gaussian with variance |tb − ta|; disjoint ones are uncorrelated', () => {
  const n = 20000;
  const bi = new BrownianInterval({ t0: 0, t1: 8, size: n, entropy: 1234n, tol: 1e-6, poolSize: 24 });
  const moments = (w: Float32Array): { mean: number; v: number } => {
    let s = 0;
    let s2 = 0;
    for (const x of w) {
      s += x;
      s2 += x * x;
    }
    return { mean: s / n, v: s2 / n - (s / n) ** 2 };
  };
  const intervals: Array<[number, number]> = [[0, 8], [0.5, 1.25], [3.3, 7.9], [1.25, 3.3]];
  const ws = intervals.map(([a, b]) => bi.increment(a, b));
  intervals.forEach(([a, b], k) => {
    const { mean, v } = moments(ws[k]!);
    const h = b - a;
    assert.ok(Math.abs(mean) < 5 * Math.sqrt(h / n), `mean ${mean} over [${a}, ${b}]`);
    assert.ok(Math.abs(v / h - 1) < 0.05, `variance ${v} over [${a}, ${b}]`);
  });
  let c = 0;
  for (let i = 0; i < n; i++) c += ws[1]![i]! * ws[2]![i]!;
  const corr = c / n / Math.sqrt(0.75 * 4.6);
  assert.ok(Math.abs(corr) < 0.04, `correlation of disjoint increments ${corr}`);
});

test('rejects what torchsde rejects', () => {
  assert.throws(() => new BrownianInterval({ t0: 2, t1: 1, size: 4, entropy: 1n, tol: 1e-6 }), RangeError);
  assert.throws(() => new BrownianInterval({ t0: 0, t1: 1, size: 4, entropy: 1n, tol: 0 }), RangeError);
  const bi = new BrownianInterval({ t0: 0, t1: 1, size: 4, entropy: 1n, tol: 1e-6 });
  assert.throws(() => bi.increment(0.8, 0.2), RangeError);
});
