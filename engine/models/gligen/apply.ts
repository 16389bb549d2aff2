/**
 * GLIGEN from conditioning to UNet call, after ComfyUI: GLIGENTextBoxApply puts a `gligen` option on each
 * conditioning entry (the model plus every box so far; chained applies keep earlier boxes), and at sampling
 * time each row carrying one gets the middle patch with its own grounding tokens. ComfyUI runs conds with
 * different patches in separate model calls; here the cond and uncond rows stay in one call and the patch
 * is gated per row (fuser.ts), so a call without GLIGEN runs the base graph and one with it a graph built
 * once per (UNet, GLIGEN file) set.
 */
import { WeftError } from '../../errors.ts';
import type { Conditioning, ConditioningEntry } from '../../graph/sockets.ts';
import type { ModelService } from '../../runtime/service.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { UNetWrapper } from '../sd/model.ts';
import { withFeeds } from '../sd/unet-runner.ts';
import { MAX_OBJS, type GligenModel } from './file.ts';
import { gligenFeedNames, gligenHook } from './fuser.ts';
import { groundingTokens, type GligenBox } from './position.ts';

/** The `gligen` option of a conditioning entry (ComfyUI's ("position", model, boxes) tuple). */
export interface GligenCond {
  readonly type: 'position';
  readonly model: GligenModel;
  readonly boxes: readonly GligenBox[];
}

const made = new WeakSet<object>();

/** The `gligen` option of a conditioning entry, or undefined (anything foreign is rejected, not ignored). */
export function gligenOf(opts: Record<string, unknown> | undefined): GligenCond | undefined {
  const v = opts?.gligen;
  if (v === undefined || v === null) return undefined;
  if (!made.has(v as object)) throw new WeftError('conditioning carries a "gligen" option that no GLIGENTextBoxApply node made', { input: 'positive' });
  return v as GligenCond;
}

export interface TextBox { width: number; height: number; x: number; y: number }

/** GLIGENTextBoxApply: every entry gets `box` (pixels, stored // 8) appended to its boxes, with model `m`. */
export function appendTextBox(cond: Conditioning, m: GligenModel, pooled: Tensor, box: TextBox): Conditioning {
  const P = pooled.shape[pooled.shape.length - 1]!;
  if (P !== m.inDim || pooled.data.length !== P) {
    throw new WeftError(`${m.path}: the CLIP's pooled output is ${P} wide but this GLIGEN model takes ${m.inDim}-wide text embeddings; use the CLIP of the model it was made for`, { file: m.path, input: 'clip' });
  }
  const b: GligenBox = {
    embedding: { shape: [1, P], data: pooled.data },
    height: Math.floor(box.height / 8), width: Math.floor(box.width / 8), y: Math.floor(box.y / 8), x: Math.floor(box.x / 8),
  };
  return cond.map(([t, opts]): ConditioningEntry => {
    const boxes = [...(gligenOf(opts)?.boxes ?? []), b];
    if (boxes.length > MAX_OBJS) throw new WeftError(`${m.path}: GLIGEN takes at most ${MAX_OBJS} text boxes per conditioning; this would be box ${boxes.length}`, { file: m.path, input: 'conditioning_to' });
    const g: GligenCond = Object.freeze({ type: 'position', model: m, boxes: Object.freeze(boxes) });
    made.add(g);
    return [t, { ...opts, gligen: g }];
  });
}

const tokens = new WeakMap<GligenCond, Map<string, Promise<Tensor>>>();

/** PositionNet's output for one conditioning at one latent-area size, computed once (it is the same every step). */
function tokensFor(c: GligenCond, h: number, w: number, service: ModelService): Promise<Tensor> {
  let byShape = tokens.get(c);
  if (!byShape) tokens.set(c, (byShape = new Map()));
  const key = `${h}x${w}`;
  let t = byShape.get(key);
  if (!t) {
    t = groundingTokens(c.model, c.boxes, h, w, service);
    t.catch(() => byShape!.delete(key));
    byShape.set(key, t);
  }
  return t;
}

/**
 * The sampling-time half, run innermost (just before the UNet): a call whose rows carry no GLIGEN passes
 * through untouched; otherwise the call's model gets the middle patch of every GLIGEN file its rows use
 * (part of the session key) and each hook its per-row grounding tokens and gates.
 */
export function gligenStage(service: ModelService): UNetWrapper {
  return async (call, next) => {
    const rows = call.conds.map((e) => gligenOf(e.extra));
    if (rows.every((r) => !r)) return next(call);
    const byKey = new Map<string, GligenModel>();
    for (const r of rows) if (r && !byKey.has(r.model.key)) byKey.set(r.model.key, r.model);
    const models = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, m]) => m);
    const [N, , h, w] = call.x.shape as [number, number, number, number];
    const feeds: Record<string, Tensor> = {};
    for (const [i, m] of models.entries()) {
      const per = MAX_OBJS * m.outDim;
      const objs = new Float32Array(N * per);
      const gate = new Float32Array(N);
      for (const [r, c] of rows.entries()) {
        if (c?.model.key !== m.key) continue;
        objs.set((await tokensFor(c, h, w, service)).data, r * per);
        gate[r] = 1;
      }
      const names = gligenFeedNames(`gligen${i}`);
      feeds[names.objs] = { shape: [N, MAX_OBJS, m.outDim], data: objs };
      feeds[names.gate] = { shape: [N], data: gate };
    }
    const model = call.model.clone();
    model.patches.push({
      kind: 'gligen',
      key: models.map((m, i) => `gligen${i}=${m.key}`).join('+'),
      build: (b) => ({ ...b, middlePatches: [...(b.middlePatches ?? []), ...models.map((m, i) => gligenHook(m, `gligen${i}`))] }),
    });
    return next(withFeeds({ ...call, model }, feeds));
  };
}
