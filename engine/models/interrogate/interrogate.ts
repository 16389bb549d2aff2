/**
 * The CLIP interrogator: turn an image into a prompt by ranking candidate phrases with a full CLIP model
 * (cosine similarity of the image embedding and each phrase's text embedding), in the spirit of the
 * clip-interrogator project but without a captioning model.
 *  fast    — the best phrase of every list, joined;
 *  classic — best medium, style, movement and lighting, plus the top `flavorCount` flavors;
 *  best    — greedy: start from the best single phrase, then repeatedly append the candidate (top phrases
 *            of every list) that raises the similarity of the whole prompt most; stop when none raises it,
 *            after `maxPhrases`, or when the prompt would not fit CLIP's 75 tokens.
 */
import { WeftError } from '../../errors.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { normalizeRows, type FullClipModel } from '../clip-vision/full.ts';
import type { ClipCrop } from '../clip-vision/preprocess.ts';
import { EmbeddingCache } from './cache.ts';
import { listHash, type PhraseList } from './lists.ts';

export type InterrogateMode = 'fast' | 'classic' | 'best';
export const INTERROGATE_MODES: readonly InterrogateMode[] = ['fast', 'classic', 'best'];

export interface PhraseTable {
  name: string;
  phrases: string[];
  /** Unit-length text embeddings [phrases, dim]. */
  embeds: Float32Array;
}

export interface RankedPhrase { list: string; phrase: string; index: number; score: number }

export interface InterrogateOptions {
  mode?: InterrogateMode;
  crop?: ClipCrop;
  /** Folder of the on-disk embedding cache; without it list embeddings are computed every time. */
  cacheDir?: string;
  /** 'best': candidates taken from the top of each list. */
  candidatesPerList?: number;
  /** 'best': most phrases in the final prompt. */
  maxPhrases?: number;
  /** 'classic': how many flavors follow the fixed slots. */
  flavorCount?: number;
  signal?: AbortSignal;
}

export interface InterrogateResult {
  prompt: string;
  /** Cosine similarity of the image and the final prompt (as one text through the text tower). */
  similarity: number;
  /** Every phrase of every list, best first. */
  ranking: RankedPhrase[];
}

function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += a[ai * dim + k]! * b[bi * dim + k]!;
  return s;
}

/** Phrases of one table by cosine with a unit image embedding, best first (ties: list order). */
export function rankTable(image: Float32Array, table: PhraseTable, dim: number): RankedPhrase[] {
  return table.phrases.map((phrase, index) => ({ list: table.name, phrase, index, score: dot(table.embeds, index, image, 0, dim) }))
    .sort((a, b) => b.score - a.score || a.index - b.index);
}

/** Unit text embeddings of each list, from the disk cache when the same model and list were seen before. */
export async function phraseTables(clip: FullClipModel, lists: readonly PhraseList[], cacheDir?: string): Promise<PhraseTable[]> {
  const cache = cacheDir ? new EmbeddingCache(cacheDir) : null;
  const modelHash = cache?.modelHash(clip.path);
  const out: PhraseTable[] = [];
  for (const l of lists) {
    const h = listHash(l.phrases);
    let raw = cache && modelHash ? cache.get(modelHash, h, l.phrases.length, clip.dim) : null;
    if (!raw) {
      raw = normalizeRows(await clip.textEmbeds(l.phrases), clip.dim);
      if (cache && modelHash) cache.put(modelHash, h, l.phrases.length, clip.dim, raw);
    }
    out.push({ name: l.name, phrases: l.phrases, embeds: raw });
  }
  return out;
}

/** Cosine of a unit image embedding with each prompt (prompts encoded now, in one batch). */
export async function promptSimilarities(clip: FullClipModel, image: Float32Array, prompts: readonly string[]): Promise<number[]> {
  const e = normalizeRows(await clip.textEmbeds(prompts), clip.dim);
  return prompts.map((_, i) => dot(e, i, image, 0, clip.dim));
}

function joinPhrases(parts: readonly string[]): string {
  return parts.join(', ');
}

/** Greedy prompt search ('best'). Exported for tests; `start` is the best single phrase. */
export async function greedyPrompt(clip: FullClipModel, image: Float32Array, start: RankedPhrase, candidates: readonly RankedPhrase[], maxPhrases: number, signal?: AbortSignal): Promise<{ prompt: string; similarity: number; parts: string[] }> {
  const parts = [start.phrase];
  let sim = (await promptSimilarities(clip, image, [start.phrase]))[0]!;
  let pool = candidates.filter((c) => c.phrase !== start.phrase);
  while (parts.length < maxPhrases && pool.length > 0) {
    if (signal?.aborted) throw new WeftError('interrogation interrupted', { type: 'execution_interrupted' });
    // CLIP sees 75 tokens between BOS and EOS; longer prompts would be silently truncated.
    pool = pool.filter((c) => clip.tokenizer.encode(joinPhrases([...parts, c.phrase])).length <= 75);
    if (pool.length === 0) break;
    const trials = pool.map((c) => joinPhrases([...parts, c.phrase]));
    const sims = await promptSimilarities(clip, image, trials);
    let best = 0;
    for (let i = 1; i < sims.length; i++) if (sims[i]! > sims[best]!) best = i;
    if (!(sims[best]! > sim)) break;
    parts.push(pool[best]!.phrase);
    sim = sims[best]!;
    pool = pool.filter((_, i) => i !== best);
  }
  return { prompt: joinPhrases(parts), similarity: sim, parts };
}

export async function interrogate(clip: FullClipModel, image: Tensor, lists: readonly PhraseList[], o: InterrogateOptions = {}): Promise<InterrogateResult> {
  if (lists.length === 0) throw new WeftError('the interrogator has no phrase lists to rank', { input: 'lists' });
  if (image.shape[0] !== 1) throw new WeftError(`interrogate takes one image, got a batch of ${image.shape[0]}`, { input: 'image' });
  const dim = clip.dim;
  const img = normalizeRows(await clip.imageEmbeds(image, o.crop ?? 'center'), dim);
  const tables = await phraseTables(clip, lists, o.cacheDir);
  const ranked = tables.map((t) => rankTable(img, t, dim));
  const ranking = ranked.flat().sort((a, b) => b.score - a.score);
  const mode = o.mode ?? 'fast';
  if (mode === 'best') {
    const k = o.candidatesPerList ?? 8;
    const g = await greedyPrompt(clip, img, ranking[0]!, ranked.flatMap((r) => r.slice(0, k)), o.maxPhrases ?? 12, o.signal);
    return { prompt: g.prompt, similarity: g.similarity, ranking };
  }
  let parts: string[];
  if (mode === 'classic') {
    const top = (name: string, n = 1) => ranked.find((r) => r[0]?.list === name)?.slice(0, n).map((p) => p.phrase) ?? [];
    parts = [...top('mediums'), ...top('styles'), ...top('movements'), ...top('lighting'), ...top('flavors', o.flavorCount ?? 3)];
    if (parts.length === 0) parts = ranked.map((r) => r[0]!.phrase);
  } else {
    parts = ranked.map((r) => r[0]!.phrase);
  }
  const prompt = joinPhrases(parts);
  const [similarity] = await promptSimilarities(clip, img, [prompt]);
  return { prompt, similarity: similarity!, ranking };
}
