/**
 * The CLIP interrogator's public surface, plus one FullClipModel per file shared by every node run, so
 * the second interrogation reuses the open sessions as well as the disk-cached list embeddings.
 */
import path from 'node:path';
import type { EngineServices } from '../../graph/context.ts';
import { FullClipModel } from '../clip-vision/full.ts';
import { cacheDirOf } from '../sd/services.ts';

export { EmbeddingCache } from './cache.ts';
export { greedyPrompt, interrogate, INTERROGATE_MODES, phraseTables, promptSimilarities, rankTable, type InterrogateMode, type InterrogateOptions, type InterrogateResult, type PhraseTable, type RankedPhrase } from './interrogate.ts';
export { BUILTIN_LIST_DIR, builtinLists, listHash, mergeLists, parseList, readListDir, readUserLists, userListFiles, USER_LIST_FOLDER, type PhraseList } from './lists.ts';

const shared = new Map<string, FullClipModel>();

export function sharedFullClip(file: string, services: EngineServices): FullClipModel {
  let m = shared.get(file);
  if (!m) {
    m = FullClipModel.open(file, { models: services.models });
    shared.set(file, m);
  }
  return m;
}

/** Where list embeddings are cached: a subfolder of the host's model cache. */
export function interrogatorCacheDir(services: EngineServices): string {
  return path.join(cacheDirOf(services), 'clip-interrogator');
}
