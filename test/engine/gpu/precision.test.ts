/**
 * The fp16 graph rewrite (engine/onnx/precision.ts) checked on the CPU EP, so it runs on every machine: ORT's
 * CPU provider runs fp16 graphs (through inserted Casts), which is enough to prove the graph is well typed
 * and numerically the fp32 graph's twin. WebGPU runs of the same variants live in webgpu.test.ts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile, float32ToFloat16Array, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { GraphBuilder, runFloat, sessionFor } from '../../../engine/onnx/index.ts';
import { buildWithDtype, defaultDtype, keepFloat32, toCompute, type FloatDtype } from '../../../engine/onnx/precision.ts';
import { maxDiff, rand, tmpDir } from '../onnx/ref.ts';

const dir = tmpDir('precision');
const p = join(dir, 'w.safetensors');
writeSafetensors(p, {
  w16: { dtype: 'F16', shape: [4, 4], data: float32ToFloat16Array(rand(16, 2, 0.5)) },
  w32: { dtype: 'F32', shape: [4], data: rand(4, 3) },
});
const file = SafetensorsFile.open(p);
after(() => { file.close(); rmSync(dir, { recursive: true, force: true }); });

/** Every rewritten construct: float input/output, Resize scales, scalars, Cast(to=FLOAT), both weight dtypes, a float32 region. */
function build(dtype: FloatDtype): GraphBuilder {
  const g = new GraphBuilder({ name: `mix_${dtype}`, dtype });
  const x = g.input('x', 'float32', [1, 4, 2, 2]);
  const up = g.op('Resize', [x, '', g.constant(Float32Array.of(1, 1, 2, 2), [4])], { mode: 'nearest' });
  const t = g.op('Transpose', [g.op('Add', [up, g.scalar(0.25)])], { perm: [0, 2, 3, 1] });
  const lin = g.op('Add', [g.op('MatMul', [t, g.weight(file, 'w16')]), g.weight(file, 'w32')]);
  const positive = g.op('Cast', [g.op('Greater', [lin, g.scalar(0)])], { to: 1 });
  // A float32 region (as a timestep embedding would be): an input declared inside it is not cast to fp16,
  // so Sin sees the exact float32 value; the result joins the fp16 graph through toCompute.
  const raw = keepFloat32(g, () => g.op('Sin', [g.op('Mul', [g.input('t', 'float32', [1, 4, 2, 2]), g.scalar(300)])]));
  g.output(g.op('Mul', [lin, positive]), 'y', 'float32', [1, 4, 4, 4]);
  g.output(toCompute(g, raw), 's', 'float32', [1, 4, 2, 2]);
  return g;
}

test('fp16 variant: well-typed graph with float32 inputs/outputs, values within fp16 rounding of the fp32 graph', async () => {
  const x = { data: rand(16, 7), dims: [1, 4, 2, 2] };
  const [a, b] = await Promise.all((['float32', 'float16'] as const).map(async (d) => runFloat(await sessionFor(build(d), { threads: 1 }), { x, t: x })));
  assert.equal(b.y!.data.constructor, Float32Array, 'callers still read float32');
  const max = Math.max(...Array.from(a.y!.data, Math.abs));
  const err = maxDiff(a.y!.data, b.y!.data);
  assert.ok(err > 0, 'the fp16 graph must actually round (else it is not fp16)');
  assert.ok(err <= 4e-3 * max, `fp16 error ${err} vs max ${max}`);
  // sin(300·x) from an fp16 x would be off by up to ~0.15; the float32 region keeps it to fp16 output rounding.
  assert.ok(maxDiff(a.s!.data, b.s!.data) < 1e-3, `float32 region error ${maxDiff(a.s!.data, b.s!.data)}`);
});

test('fp16 weights are used as stored; fp32 weights get one Cast; a float32 region reads float32 weights', () => {
  const g16 = new GraphBuilder({ dtype: 'float16' });
  assert.equal(g16.weight(file, 'w16'), 'w16', 'no Cast for an F16 tensor in an fp16 graph');
  assert.notEqual(g16.weight(file, 'w32'), 'w32');
  assert.notEqual(keepFloat32(g16, () => g16.weight(file, 'w16')), 'w16');
  const g32 = new GraphBuilder();
  assert.equal(g32.weight(file, 'w32'), 'w32');
  assert.notEqual(g32.weight(file, 'w16'), 'w16');
});

test('buildWithDtype scopes the default dtype to one synchronous build', () => {
  assert.equal(defaultDtype(), 'float32');
  const g = buildWithDtype('float16', () => new GraphBuilder());
  assert.equal(g.dtype, 'float16');
  assert.ok(g.fp16);
  assert.equal(new GraphBuilder().dtype, 'float32', 'the default is restored');
  assert.equal(new GraphBuilder().fp16, undefined, 'fp32 graphs carry no rewriting policy');
  assert.throws(() => buildWithDtype('float16', () => Promise.resolve(1)), /synchronous/);
  assert.equal(defaultDtype(), 'float32', 'restored after a throw too');
});
