import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import { cannyImage, cannyMaps } from '../../../engine/tensor/canny.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';

/** A one-channel canvas with a painter for axis-aligned boxes (inclusive bounds). */
function canvas(w: number, h: number, bg = 0) {
  const d = new Float32Array(w * h).fill(bg);
  return {
    box(x0: number, x1: number, y0: number, y1: number, v: number) {
      for (let y = y0; y <= y1; y++) d.fill(v, y * w + x0, y * w + x1 + 1);
      return this;
    },
    image: (): Tensor => tensor([1, h, w, 1], d),
    data: d,
  };
}

/** Edge pixels of batch element 0 as "x,y" strings, for set comparisons and messages. */
function edgeSet(edges: Tensor, n = 0): Set<string> {
  const [, h, w] = edges.shape;
  const s = new Set<string>();
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (edges.data[n * h * w + y * w + x] === 1) s.add(`${x},${y}`);
  return s;
}

function row(edges: Tensor, y: number): number[] {
  const w = edges.shape[2];
  const xs: number[] = [];
  for (let x = 0; x < w; x++) if (edges.data[y * w + x] === 1) xs.push(x);
  return xs;
}

function column(edges: Tensor, x: number): number[] {
  const [, h, w] = edges.shape;
  const ys: number[] = [];
  for (let y = 0; y < h; y++) if (edges.data[y * w + x] === 1) ys.push(y);
  return ys;
}

// White box x 10..29, y 8..23 on black, 40×32. Its boundary lies between pixels 9|10, 29|30, 7|8, 23|24.
const W = 40;
const H = 32;
const rect = () => canvas(W, H).box(10, 29, 8, 23, 1);

test('rectangle: straight runs are found exactly one pixel outside the boundary, 1 pixel wide', () => {
  const { edges } = cannyMaps(rect().image(), 0.4, 0.8);
  assert.deepEqual(edges.shape, [1, H, W]);
  // Three pixels from a corner (blur radius 2 + Sobel 1) the edge is a clean step.
  for (let y = 11; y <= 20; y++) assert.deepEqual(row(edges, y), [9, 30], `row ${y}`);
  for (let x = 13; x <= 26; x++) assert.deepEqual(column(edges, x), [7, 24], `column ${x}`);
  // Nowhere far from the boundary: every edge pixel is within 2 px of it, none deep inside.
  for (const p of edgeSet(edges)) {
    const [x, y] = p.split(',').map(Number);
    const outside = x < 7 || x > 32 || y < 5 || y > 26;
    const inside = x >= 12 && x <= 27 && y >= 10 && y <= 21;
    assert.ok(!outside && !inside, `stray edge at ${p}`);
  }
});

test('a dark box on white puts its edges on the dark side too, i.e. just inside', () => {
  const img = canvas(W, H, 1).box(10, 29, 8, 23, 0).image();
  const { edges } = cannyMaps(img, 0.4, 0.8);
  for (let y = 11; y <= 20; y++) assert.deepEqual(row(edges, y), [10, 29], `row ${y}`);
  for (let x = 13; x <= 26; x++) assert.deepEqual(column(edges, x), [8, 23], `column ${x}`);
});

test('magnitude of a 0→1 step is the unnormalised Sobel of kornia\'s 5-tap sigma-1 blur', () => {
  // Taps exp(−t²/2) for t = −2..2, normalised; across the step the blurred profile rises by
  // k[2] + k[3] over the two pixels Sobel differences, and its vertical 1-2-1 weights sum to 4.
  const g = [-2, -1, 0, 1, 2].map((t) => Math.exp(-(t * t) / 2));
  const sum = g.reduce((a, b) => a + b, 0);
  const gx = (4 * (g[2] + g[3])) / sum;
  const { magnitude } = cannyMaps(rect().image(), 0.4, 0.8);
  const at = (x: number, y: number) => magnitude.data[y * W + x];
  assert.ok(Math.abs(at(9, 15) - Math.sqrt(gx * gx + 1e-6)) < 1e-5, `magnitude ${at(9, 15)} vs ${gx}`);
  assert.ok(Math.abs(at(30, 15) - at(9, 15)) < 1e-5, 'both sides of the box score the same');
  // Suppressed neighbours across the edge and the flat interior are 0.
  assert.equal(at(10, 15), 0);
  assert.equal(at(8, 15), 0);
  assert.equal(at(20, 15), 0);
});

test('circle: edges hug the radius, cover every direction, and are never 2×2 thick', () => {
  const N = 40;
  const R = 12.3;
  const c = 19.5;
  const cv = canvas(N, N);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) if ((x - c) ** 2 + (y - c) ** 2 <= R * R) cv.data[y * N + x] = 1;
  const { edges } = cannyMaps(cv.image(), 0.4, 0.8);
  const sectors = new Set<number>();
  for (const p of edgeSet(edges)) {
    const [x, y] = p.split(',').map(Number);
    const r = Math.hypot(x - c, y - c);
    assert.ok(Math.abs(r - R) <= 1.5, `edge at ${p} is ${r.toFixed(2)} from the centre`);
    sectors.add(Math.floor(((Math.atan2(y - c, x - c) + Math.PI) / (2 * Math.PI)) * 16) % 16);
  }
  assert.equal(sectors.size, 16, 'an unbroken ring has edge pixels in all 16 sectors');
  // NMS thinness: through the middle each scan line crosses the ring exactly twice.
  assert.equal(row(edges, 19).length, 2);
  assert.equal(row(edges, 20).length, 2);
  assert.equal(column(edges, 19).length, 2);
  for (let y = 0; y + 1 < N; y++) {
    for (let x = 0; x + 1 < N; x++) {
      const on = (dx: number, dy: number) => edges.data[(y + dy) * N + x + dx] === 1;
      assert.ok(!(on(0, 0) && on(1, 0) && on(0, 1) && on(1, 1)), `2×2 block at ${x},${y}`);
    }
  }
});

/** Blocks of pseudo-random grey (fixed LCG seed): edges of many different contrasts. */
function patchwork(): Tensor {
  const cv = canvas(48, 48);
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let by = 0; by < 6; by++) for (let bx = 0; bx < 6; bx++) cv.box(bx * 8, bx * 8 + 7, by * 8, by * 8 + 7, 0.4 * rand());
  return cv.image();
}

function assertSubset(small: Set<string>, big: Set<string>, what: string): void {
  for (const p of small) assert.ok(big.has(p), `${what}: ${p} is missing from the larger set`);
  assert.ok(small.size < big.size, `${what}: expected strictly fewer edges (${small.size} vs ${big.size})`);
}

test('raising either threshold only removes edges', () => {
  const img = patchwork();
  const e = (lo: number, hi: number) => edgeSet(cannyMaps(img, lo, hi).edges);
  const lowSweep = [0.05, 0.3, 0.6].map((lo) => e(lo, 0.6));
  assertSubset(lowSweep[1], lowSweep[0], 'low 0.3 ⊂ low 0.05');
  assertSubset(lowSweep[2], lowSweep[1], 'low 0.6 ⊂ low 0.3');
  assertSubset(e(0.3, 0.95), e(0.3, 0.5), 'high 0.95 ⊂ high 0.5');
});

test('hysteresis: weak edges survive only when connected to a strong one', () => {
  // Top half black; bottom half a grey falling slowly left to right. The step magnitude is
  // 2.59·grey: from 0.5 to 0.2 the line runs from strong (>0.8) to weak (0.4..0.8).
  const grad = (left: number) => {
    const cv = canvas(40, 20);
    for (let y = 10; y < 20; y++) for (let x = 0; x < 40; x++) cv.data[y * 40 + x] = left - ((left - 0.2) * x) / 39;
    return cv.image();
  };
  // The sideways fall makes row 10 (the grey side) slightly steeper, so the line is on row 10.
  const joined = cannyMaps(grad(0.5), 0.4, 0.8);
  assert.deepEqual(row(joined.edges, 10), Array.from({ length: 40 }, (_, x) => x), 'the whole line, weak end included');
  assert.ok(joined.magnitude.data[10 * 40 + 39] < 0.8, 'the right end really is weak');
  assert.ok(joined.magnitude.data[10 * 40] > 0.8, 'the left end is strong');
  assert.equal(edgeSet(joined.edges).size, 40);
  const alone = cannyMaps(grad(0.3), 0.4, 0.8);
  assert.ok(alone.magnitude.data[10 * 40] > 0.4 && alone.magnitude.data[10 * 40] < 0.8, 'all weak');
  assert.equal(edgeSet(alone.edges).size, 0, 'a weak line with no strong pixel vanishes');
  assert.equal(edgeSet(cannyMaps(grad(0.3), 0.4, 0.5).edges).size, 40, 'and reappears once it counts as strong');
});

test('grey is BT.601 luma: a blue box is too faint for the defaults, a green one is not', () => {
  const coloured = (rgb: [number, number, number]) => {
    const d = new Float32Array(H * W * 3);
    for (let y = 8; y <= 23; y++) for (let x = 10; x <= 29; x++) d.set(rgb, (y * W + x) * 3);
    return tensor([1, H, W, 3], d);
  };
  // Luma 0.114 → step 0.29 (below 0.4); a plain channel mean (0.333 → 0.86) would be strong.
  assert.equal(edgeSet(cannyMaps(coloured([0, 0, 1]), 0.4, 0.8).edges).size, 0);
  assert.deepEqual(row(cannyMaps(coloured([0, 1, 0]), 0.4, 0.8).edges, 15), [9, 30]);
});

test('cannyImage: RGB 0/1 output, each batch element on its own', () => {
  const a = rect().data;
  const b = canvas(W, H).box(4, 15, 4, 15, 1).data;
  const both = new Float32Array(2 * W * H);
  both.set(a);
  both.set(b, W * H);
  const out = cannyImage(tensor([2, H, W, 1], both), 0.4, 0.8);
  assert.deepEqual(out.shape, [2, H, W, 3]);
  const single = cannyMaps(tensor([1, H, W, 1], b), 0.4, 0.8).edges;
  let ones = 0;
  for (let i = 0; i < W * H; i++) {
    const px = out.data.subarray((W * H + i) * 3, (W * H + i) * 3 + 3);
    assert.deepEqual([...px], [single.data[i], single.data[i], single.data[i]], `pixel ${i} of image 2`);
    ones += px[0];
  }
  assert.ok(ones > 30, 'the second image has its own edges');
  for (const v of out.data) assert.ok(v === 0 || v === 1);
  assert.ok(out.data[(15 * W + 9) * 3] === 1 && out.data[(W * H + 15 * W + 9) * 3] === 0, 'batch elements differ');
});

test('errors name the input', () => {
  const img = rect().image();
  const input = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof WeftError, String(e));
      return e.input;
    }
    assert.fail('expected a WeftError');
  };
  assert.equal(input(() => cannyMaps(img, 0.8, 0.4)), 'low_threshold');
  assert.equal(input(() => cannyMaps(img, 0, 0.4)), 'low_threshold');
  assert.equal(input(() => cannyMaps(img, 0.4, 1)), 'high_threshold');
  assert.equal(input(() => cannyMaps(img, 0.4, Number.NaN)), 'high_threshold');
  assert.equal(input(() => cannyMaps(tensor([1, 4, 4, 2]), 0.4, 0.8)), 'image');
  assert.equal(input(() => cannyMaps(tensor([1, 4, 4, 4]), 0.4, 0.8)), 'image');
  assert.equal(input(() => cannyMaps(tensor([1, 2, 8, 3]), 0.4, 0.8)), 'image');
  assert.equal(input(() => cannyMaps(tensor([4, 4, 3]), 0.4, 0.8)), 'image');
  // Equal thresholds are allowed (kornia checks low ≤ high).
  assert.ok(cannyMaps(img, 0.5, 0.5).edges.data.includes(1));
});
