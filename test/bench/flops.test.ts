// The bench's FLOP counter (bench/lib/flops.ts) walks the parsed layers; this recounts the same work another
// way — every Conv/Linear weight's size × the positions it is applied at, plus the attention products — so a
// wrong layer formula (GEGLU width, skip convs, down/up resolutions, cross-attention K/V) shows as a mismatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unetParams, type SyntheticUNetSpec } from '../../engine/models/unet/synthetic.ts';
import { parseUNetConfig, type UNetConfig } from '../../engine/models/unet/config.ts';
import { blockFlops, unetFlops, type StepShape } from '../../bench/lib/flops.ts';

const SPECS: Record<string, SyntheticUNetSpec> = {
  sd1: { modelChannels: 32, channelMult: [1, 2, 2], numResBlocks: 2, transformerDepth: [1, 1, 0], contextDim: 24 },
  sdxl: { modelChannels: 32, channelMult: [1, 2], numResBlocks: 2, transformerDepth: [0, 2], transformerDepthMiddle: 2, contextDim: 40, linearProj: true, admInChannels: 48 },
};

function independentFlops(cfg: UNetConfig, shapes: Map<string, { shape: number[] }>, s: StepShape): number {
  const side = (down: number): number => s.latent / down;
  const nIn = cfg.inputBlocks.length;
  // Output side length of the weight with this key (convs), or the token count it is applied to (linears).
  const sideOf = (key: string): number => {
    const k = key.slice(cfg.prefix.length);
    let m = /^input_blocks\.(\d+)\./.exec(k);
    if (m) return side(cfg.skips[Number(m[1])]!.down);
    m = /^output_blocks\.(\d+)\.(\d+)\./.exec(k);
    if (m) {
      const base = side(cfg.skips[nIn - 1 - Number(m[1])]!.down);
      const layer = cfg.outputBlocks[Number(m[1])]![Number(m[2])]!;
      return layer.kind === 'up' ? base * 2 : base;
    }
    if (k.startsWith('middle_block.')) return side(cfg.middleDown);
    return s.latent; // input conv, out conv
  };
  let macs = 0;
  for (const [key, { shape }] of shapes) {
    if (!key.endsWith('.weight') || shape.length < 2) continue; // biases, norms
    const numel = shape.reduce((a, b) => a * b, 1);
    const k = key.slice(cfg.prefix.length);
    let positions: number;
    if (/^(time_embed|label_emb)\.|emb_layers\./.test(k)) positions = 1;
    else if (/attn2\.to_[kv]\./.test(k)) positions = s.tokens;
    else positions = sideOf(key) ** 2;
    macs += s.batch * positions * numel;
  }
  const transformers = [
    ...cfg.inputBlocks.map((b, i) => [b, side(cfg.skips[i]!.down)] as const),
    [cfg.middleBlock, side(cfg.middleDown)] as const,
    ...cfg.outputBlocks.map((b, j) => [b, side(cfg.skips[nIn - 1 - j]!.down)] as const),
  ];
  for (const [layers, sd] of transformers) {
    for (const l of layers) {
      if (l.kind !== 'transformer') continue;
      const hw = sd * sd;
      macs += l.depth * 2 * s.batch * hw * (hw + s.tokens) * l.inner; // QKᵀ and AV, self + cross
    }
  }
  return 2 * macs;
}

for (const [name, spec] of Object.entries(SPECS)) {
  test(`bench FLOP counter matches a per-weight recount (${name}-shaped UNet)`, () => {
    const shapes = new Map(unetParams(spec).map((p) => [p.name, { shape: p.shape }]));
    const cfg = parseUNetConfig({ tensors: shapes }, { numHeads: 4 });
    for (const s of [{ batch: 2, latent: 16, tokens: 77 }, { batch: 1, latent: 32, tokens: 154 }]) {
      const expected = independentFlops(cfg, shapes, s);
      assert.ok(expected > 0);
      assert.equal(unetFlops(cfg, s), expected, `${name} ${JSON.stringify(s)}`);
    }
  });
}

test('baseline block FLOPs are part of the step and scale with the batch', () => {
  const shapes = new Map(unetParams(SPECS.sd1!).map((p) => [p.name, { shape: p.shape }]));
  const cfg = parseUNetConfig({ tensors: shapes }, { numHeads: 4 });
  const s = { batch: 2, latent: 16, tokens: 77 };
  const b = blockFlops(cfg, 1, s);
  assert.ok(b > 0 && b < unetFlops(cfg, s));
  assert.equal(blockFlops(cfg, 1, { ...s, batch: 4 }), 2 * b);
});
