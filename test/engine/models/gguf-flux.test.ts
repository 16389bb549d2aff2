import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { GraphBuilder, runFloat, sessionFor } from '../../../engine/onnx/index.ts';
import { quantLinear } from '../../../engine/models/quant/linear.ts';
import { openGgufModel } from '../../../engine/models/quant/gguf.ts';
import type { QuantizedWeights } from '../../../engine/models/quant/linear.ts';
import { fluxDims } from '../../../engine/models/flux/config.ts';
import { buildFluxGraph } from '../../../engine/models/flux/graph.ts';
import { writeSyntheticFlux, type SyntheticFluxSpec } from '../../../engine/models/flux/synthetic.ts';
import type { WeightSource } from '../../../engine/onnx/weights.ts';
import { encodeQ4_0, encodeQ8_0, f32Bytes, randomBlocks, refDecode, rng, writeGguf, type TensorSpec } from '../io/gguf-helpers.ts';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'weft-gguf-q-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

// The FLUX builders still type their weights as SafetensorsFile (see the report's wiring edits); they only
// use the WeightSource surface, which GgufWeights implements.
const asFile = (s: WeightSource) => s as unknown as SafetensorsFile;

function rand(n: number, r: () => number, amp = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * amp);
}

test('Q8_0 and Q4_0 map onto MatMulNBits exactly; other types re-quantise (8-bit graph) or decode (4-bit graph)', async () => {
  const N = 8, K = 256, M = 3, r = rng(11);
  const x = rand(M * K, r), bias = rand(N, r);
  const blocks = { Q8_0: randomBlocks('Q8_0', (N * K) / 32, r), Q4_0: randomBlocks('Q4_0', (N * K) / 32, r), Q4_K: randomBlocks('Q4_K', (N * K) / 256, r) };
  const cases: Array<{ types: Array<keyof typeof blocks>; bits: number; direct: string[]; requantized: string[]; dequantized: string[]; tol: Record<string, number> }> = [
    { types: ['Q8_0'], bits: 8, direct: ['Q8_0'], requantized: [], dequantized: [], tol: { Q8_0: 1e-4 } },
    { types: ['Q4_0'], bits: 4, direct: ['Q4_0'], requantized: [], dequantized: [], tol: { Q4_0: 1e-4 } },
    { types: ['Q8_0', 'Q4_K'], bits: 8, direct: ['Q8_0'], requantized: ['Q4_K'], dequantized: [], tol: { Q8_0: 1e-4, Q4_K: 2e-2 } },
    { types: ['Q4_0', 'Q8_0', 'Q4_K'], bits: 4, direct: ['Q4_0'], requantized: [], dequantized: ['Q8_0', 'Q4_K'], tol: { Q4_0: 1e-4, Q8_0: 1e-3, Q4_K: 1e-3 } },
  ];
  for (const [ci, c] of cases.entries()) {
    const tensors: TensorSpec[] = c.types.flatMap((ty) => [
      { name: `${ty}.weight`, type: ty, shape: [N, K], data: blocks[ty] },
      { name: `${ty}.bias`, type: 'F32', shape: [N], data: f32Bytes(bias) },
    ]);
    const p = join(dir, `lin${ci}.gguf`);
    writeGguf(p, { tensors });
    const m = openGgufModel(p, { cacheDir: join(dir, `cache${ci}`), floatDtype: 'F32' });
    try {
      assert.equal(m.plan.bits, c.bits);
      assert.deepEqual([m.plan.direct, m.plan.requantized, m.plan.dequantized], [c.direct, c.requantized, c.dequantized].map((l) => l.map((t) => `${t}.weight`)));
      for (const ty of c.types) {
        const g = new GraphBuilder({ name: 'glin' });
        const xin = g.input('x', 'float32', [M, K]);
        const held = m.quant?.file.has(`${ty}.weight::q`) ?? false;
        g.output(held ? quantLinear(g, asFile(m.source), m.quant!, ty, xin) : g.op('Add', [g.op('MatMul', [xin, g.op('Transpose', [g.weight(m.source, `${ty}.weight`)])]), g.weight(m.source, `${ty}.bias`)]), 'y');
        const y = (await runFloat(await sessionFor(g, { threads: 1 }), { x: { data: x, dims: [M, K] } })).y!.data;
        const w = refDecode(ty, blocks[ty], N * K);
        let err = 0, mag = 0;
        for (let i = 0; i < M; i++)
          for (let n = 0; n < N; n++) {
            let ref = bias[n]!;
            for (let k = 0; k < K; k++) ref += x[i * K + k]! * w[n * K + k]!;
            err = Math.max(err, Math.abs(ref - y[i * N + n]!));
            mag = Math.max(mag, Math.abs(ref));
          }
        assert.ok(err / mag < c.tol[ty]!, `case ${ci} ${ty}: relative error ${err / mag}`);
      }
    } finally {
      m.source.close();
    }
  }
});

const SPEC: SyntheticFluxSpec = { hidden: 64, heads: 2, depth: 1, depthSingle: 1, contextDim: 24, vecDim: 12, guidance: true, seed: 5, dtype: 'F32' };

/** The float32 DiT rewritten as a ComfyUI-GGUF-style file: 2-D weights in `type` where rows allow, the rest F32. */
function toGguf(st: SafetensorsFile, out: string, type: 'Q8_0' | 'Q4_0'): number {
  let quantised = 0;
  const tensors: TensorSpec[] = st.keys().map((k) => {
    const t = st.get(k), w = st.readFloat32(k);
    if (t.shape.length === 2 && t.shape[1]! % 32 === 0) {
      quantised++;
      return { name: k, type, shape: t.shape, data: type === 'Q8_0' ? encodeQ8_0(w) : encodeQ4_0(w) };
    }
    return { name: k, type: 'F32', shape: t.shape, data: f32Bytes(w) };
  });
  writeGguf(out, { tensors, kv: [['general.architecture', 'string', 'flux'], ['general.file_type', 'u32', type === 'Q8_0' ? 7 : 2]] });
  return quantised;
}

async function runDit(src: WeightSource, quant: QuantizedWeights | undefined, feeds: Parameters<typeof runFloat>[1]): Promise<Float32Array> {
  const dims = fluxDims(asFile(src));
  const g = buildFluxGraph(asFile(src), dims, { quant });
  return (await runFloat(await sessionFor(g, { threads: 1 }), feeds)).out!.data;
}

function relErr(a: Float32Array, ref: Float32Array): number {
  let e = 0, m = 0;
  for (let i = 0; i < a.length; i++) { e = Math.max(e, Math.abs(a[i]! - ref[i]!)); m = Math.max(m, Math.abs(ref[i]!)); }
  return e / m;
}

test('a BFL-layout FLUX DiT stored as Q8_0 / Q4_0 GGUF runs on MatMulNBits within quantisation tolerance of fp32', async () => {
  const stPath = join(dir, 'flux.safetensors');
  writeSyntheticFlux(stPath, SPEC);
  const st = SafetensorsFile.open(stPath);
  const r = rng(9), B = 1, Limg = 16, Ltxt = 5, L = Limg + Ltxt, pairs = 16;
  const feeds: Parameters<typeof runFloat>[1] = {
    img: { data: rand(B * Limg * 64, r), dims: [B, Limg, 64] }, txt: { data: rand(B * Ltxt * 24, r), dims: [B, Ltxt, 24] },
    t_emb: { data: rand(B * 256, r), dims: [B, 256] }, g_emb: { data: rand(B * 256, r), dims: [B, 256] }, y: { data: rand(B * 12, r), dims: [B, 12] },
    pe_cos: { data: rand(L * pairs, r), dims: [L, 1, pairs, 1] }, pe_sin: { data: rand(L * pairs, r), dims: [L, 1, pairs, 1] },
  };
  try {
    const ref = await runDit(st, undefined, feeds);
    const errs: Record<string, number> = {};
    for (const [type, bound] of [['Q8_0', 0.02], ['Q4_0', 0.25]] as const) {
      const p = join(dir, `flux-${type}.gguf`);
      const nq = toGguf(st, p, type);
      const cacheDir = join(dir, `flux-cache-${type}`);
      const m = openGgufModel(p, { cacheDir });
      try {
        assert.equal(m.plan.direct.length, nq);
        assert.deepEqual([m.plan.requantized, m.plan.dequantized], [[], []]);
        assert.equal(m.source.side, null, 'no float copy should exist: every quantised tensor is a MatMulNBits Linear');
        // Footprint: codes + fp32 scales per block of 32 (4-bit: 20 bytes vs GGUF's 18; 8-bit: 36 vs 34).
        const ggufBlockBytes = m.plan.direct.reduce((a, k) => a + m.source.gguf.get(k).byteLength, 0);
        assert.ok(statSync(m.load.quantFile!).size < ggufBlockBytes * 1.2 + 65536, 'the side file is not block-for-block');
        const out = await runDit(m.source, m.quant, feeds);
        errs[type] = relErr(out, ref);
        assert.ok(errs[type]! < bound && errs[type]! > 0, `${type}: relative error ${errs[type]}`);
        // Exactness of the re-encode: the MatMulNBits graph equals an fp32 graph over the decoded GGUF.
        const dec = openGgufModel(p, { cacheDir, floatDtype: 'F32', nbits: false });
        try {
          assert.equal(dec.quant, undefined);
          assert.ok(relErr(out, await runDit(dec.source, undefined, feeds)) < 1e-4, `${type}: MatMulNBits differs from the decoded weights`);
        } finally {
          dec.source.close();
        }
      } finally {
        m.source.close();
      }
      const again = openGgufModel(p, { cacheDir });
      assert.equal(again.load.quantReused, true);
      again.source.close();
      assert.equal(readdirSync(cacheDir).filter((f) => f.startsWith('quant-')).length, 1);
    }
    console.log(`GGUF DiT: max error / max|v|: Q8_0 ${errs.Q8_0!.toExponential(2)}, Q4_0 ${errs.Q4_0!.toExponential(2)}`);
    assert.ok(errs.Q8_0! < errs.Q4_0!);
  } finally {
    st.close();
  }
});
