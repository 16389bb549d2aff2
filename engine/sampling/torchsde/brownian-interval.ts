/**
 * torchsde 0.2.6's BrownianInterval with `halfway_tree` (the configuration BrownianTree uses), so a seed
 * gives ComfyUI's SDE noise. The path lives on a binary tree of intervals: the root holds W(t0, t1) drawn
 * with seed state[0] of SeedSequence(entropy); every split interval owns a torch seed (state[0] of
 * SeedSequence(entropy, spawn_key=(key, depth))) and a child's increment is the Brownian bridge sample
 * from its parent's increment and that seed's randn. Queries decompose [ta, tb] into existing tree nodes
 * (splitting at rounded dyadic halfway points as needed) and add the nodes' increments left to right.
 *
 * Arithmetic mirrors torch's float32 tensor ops: Python float scalars are cast to float32 before each
 * multiply, and every tensor op rounds to float32. Which nodes a query sums depends on earlier queries
 * (a later split turns one node into two), so the same query sequence is needed for bit-equal results.
 * Only levy_area_approximation 'none' is ported: W, no space-time or full Lévy area.
 */
import { TorchGenerator } from '../rng.ts';
import { LruCache } from './lru.ts';
import { pyRound } from './round.ts';
import { SeedSequence, type EntropyInput } from './seed-sequence.ts';

const fr = Math.fround;

export interface BrownianIntervalOptions {
  t0: number;
  t1: number;
  /** Number of elements of one sample (the tensor's numel; torchsde draws randn(size) flat in C order). */
  size: number;
  entropy: EntropyInput;
  /** Quantisation of times: round to -int(log10(tol)) decimals. torchsde: 0 = none; BrownianTree: 1e-6. */
  tol?: number;
  /** SeedSequence pool size (torchsde BrownianInterval 8; BrownianTree 24). */
  poolSize?: number;
  /** LRU size of computed increments (torchsde default 45; null = unbounded). Never changes values. */
  cacheSize?: number | null;
  /** Only the dyadic tree is ported: it makes the path a function of entropy alone. */
  halfwayTree?: true;
}

/** One node of the dependency tree. */
class Interval {
  midway: number | null = null;
  left: Interval | null = null;
  right: Interval | null = null;
  spawnKey = 0n;
  depth = 0;
  /** torch seed of the bridge noise that splits this interval (set when it splits). */
  wSeed = 0;

  constructor(readonly start: number, readonly end: number, readonly parent: Interval | null, readonly isLeft: boolean) {}
}

export class BrownianInterval {
  readonly size: number;
  readonly entropy: EntropyInput;
  readonly poolSize: number;
  readonly tol: number;
  private readonly round: (x: number) => number;
  private readonly root: Interval;
  private readonly rootW: Float32Array;
  private readonly cache: LruCache<Interval, Float32Array> | Map<Interval, Float32Array>;
  private last: Interval;

  constructor(o: BrownianIntervalOptions) {
    const { t0, t1 } = o;
    if (!(t0 <= t1)) throw new RangeError(`Initial time ${t0} should be less than terminal time ${t1}.`);
    this.size = o.size;
    this.entropy = o.entropy;
    this.poolSize = o.poolSize ?? 8;
    this.tol = o.tol ?? 0;
    // halfway_tree needs a positive tol in torchsde; the tree would otherwise split down to float resolution.
    if (!(this.tol > 0)) throw new RangeError('`tol` should be positive.');
    const ndigits = -Math.trunc(Math.log10(this.tol));
    this.round = (x) => pyRound(x, ndigits);
    this.root = new Interval(this.round(t0), this.round(t1), null, true);
    const cacheSize = o.cacheSize === undefined ? 45 : o.cacheSize;
    this.cache = cacheSize === null ? new Map() : new LruCache(cacheSize);
    this.last = this.root;
    // state[0] seeds W over the whole range (state[1], state[2] seed H and A, unused without Lévy area),
    // scaled by the UNROUNDED length, as torchsde does before any rounding applies.
    const [wSeed] = new SeedSequence(o.entropy, { poolSize: this.poolSize }).generateState(3);
    const w = randnSeeded(wSeed!, this.size);
    const scale = fr(Math.sqrt(t1 - t0));
    for (let i = 0; i < w.length; i++) w[i] = fr(w[i]! * scale);
    this.rootW = w;
  }

  get t0(): number {
    return this.root.start;
  }

  get t1(): number {
    return this.root.end;
  }

  /** The increment W(tb) − W(ta) for t0 ≤ ta ≤ tb ≤ t1 (out-of-range times are clamped, as torchsde warns and clamps). */
  increment(taIn: number, tbIn: number): Float32Array {
    let ta = taIn;
    let tb = tbIn;
    const { start, end } = this.root;
    if (ta < start) ta = start;
    if (tb < start) tb = start;
    if (ta > end) ta = end;
    if (tb > end) tb = end;
    if (ta > tb) throw new RangeError(`Query times ta=${ta} and tb=${tb} must respect ta <= tb.`);
    ta = this.round(ta);
    tb = this.round(tb);
    // torchsde returns zeros only for ta == tb before rounding; two times on one grid point would make it
    // recurse without end, zeros are the limit it approaches.
    if (ta === tb) return new Float32Array(this.size);
    const nodes: Interval[] = [];
    this.locate(this.last, ta, tb, nodes);
    this.last = nodes[nodes.length - 1]!;
    const w = this.nodeIncrement(nodes[0]!).slice();
    for (let k = 1; k < nodes.length; k++) {
      const wi = this.nodeIncrement(nodes[k]!);
      for (let i = 0; i < w.length; i++) w[i] = fr(w[i]! + wi[i]!);
    }
    return w;
  }

  /** torchsde's _loc_inner: climb until [ta, tb] is inside the node, then descend, splitting leaves. */
  private locate(from: Interval, ta: number, tb: number, out: Interval[]): void {
    let node = from;
    let lo = ta;
    for (let guard = 0; guard < 100_000; guard++) {
      if (lo < node.start || tb > node.end) {
        node = node.parent!;
        continue;
      }
      if (lo === node.start && tb === node.end) {
        out.push(node);
        return;
      }
      if (node.midway === null) {
        // A leaf: split so that the query's inner end becomes a boundary, then continue on that side.
        if (lo === node.start) {
          this.split(node, tb);
          node = node.left!;
        } else {
          this.split(node, lo);
          node = node.right!;
        }
        continue;
      }
      if (tb <= node.midway) node = node.left!;
      else if (lo >= node.midway) node = node.right!;
      else {
        // Straddles the midpoint: the left part first, so `out` stays ordered.
        this.locate(node.left!, lo, node.midway, out);
        lo = node.midway;
        node = node.right!;
      }
    }
    throw new Error(`BrownianInterval: could not locate [${ta}, ${tb}]`);
  }

  /** Halfway split, repeated on the side holding `at` until `at` is a boundary. */
  private split(first: Interval, at: number): void {
    let node = first;
    for (let guard = 0; guard < 4096; guard++) {
      this.splitExact(node, 0.5 * (node.end + node.start));
      const mid = node.midway!;
      if (at > mid) node = node.right!;
      else if (at < mid) node = node.left!;
      else return;
      if (node.end - node.start <= 0) break;
    }
    throw new Error(`BrownianInterval: cannot split down to ${at} (tol ${this.tol})`);
  }

  private splitExact(node: Interval, midway: number): void {
    node.midway = this.round(midway);
    if (node.parent) {
      node.spawnKey = 2n * node.parent.spawnKey + (node.isLeft ? 0n : 1n);
      node.depth = node.parent.depth + 1;
    }
    const seq = new SeedSequence(this.entropy, { spawnKey: [node.spawnKey, node.depth], poolSize: this.poolSize });
    node.wSeed = seq.generateState(4)[0]!;
    node.left = new Interval(node.start, node.midway, node, true);
    node.right = new Interval(node.midway, node.end, node, false);
  }

  /** A node's increment: from the cache, or bridged down from the nearest cached ancestor (the root always is). */
  private nodeIncrement(node: Interval): Float32Array {
    const chain: Interval[] = [];
    let n = node;
    let w: Float32Array | undefined;
    for (;;) {
      if (n === this.root) {
        w = this.rootW;
        break;
      }
      w = this.cache.get(n);
      if (w) break;
      chain.push(n);
      n = n.parent!;
    }
    for (let k = chain.length - 1; k >= 0; k--) {
      const c = chain[k]!;
      const [left, right] = this.bridge(c.parent!, w);
      // Both children come from the same parent noise: keep the sibling too, it is usually queried next.
      this.cache.set(c.isLeft ? c.parent!.right! : c.parent!.left!, c.isLeft ? right : left);
      w = c.isLeft ? left : right;
      this.cache.set(c, w);
    }
    return w;
  }

  /** Brownian bridge split of a parent's increment: left = mean + √var·noise (parent's seed), right = parent − left. */
  private bridge(p: Interval, parentW: Float32Array): [Float32Array, Float32Array] {
    const hRecip = 1 / (p.end - p.start);
    const leftDiff = p.midway! - p.start;
    const rightDiff = p.end - p.midway!;
    const varW = leftDiff * rightDiff * hRecip;
    const noise = randnSeeded(p.wSeed, this.size);
    const a = fr(leftDiff);
    const b = fr(hRecip);
    const sd = fr(Math.sqrt(varW));
    const left = new Float32Array(this.size);
    const right = new Float32Array(this.size);
    for (let i = 0; i < left.length; i++) {
      const leftW = fr(fr(fr(a * parentW[i]!) * b) + fr(sd * noise[i]!));
      left[i] = leftW;
      right[i] = fr(parentW[i]! - leftW);
    }
    return [left, right];
  }
}

/** torchsde's _randn: a fresh torch CPU generator per draw, manual_seed(seed), randn(size) in float32. */
export function randnSeeded(seed: number | bigint, size: number): Float32Array {
  return new TorchGenerator(seed).randn(size);
}
