/**
 * Candidate phrase lists: Weft's built-in lists (lists/*.txt next to this file) extended by the user's
 * `models/interrogator/*.txt` — a user file named like a built-in list adds to it, any other name is a new
 * list. One phrase per line; blank lines and lines starting with '#' are ignored; duplicates are dropped.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WeftError } from '../../errors.ts';
import type { Folders } from '../../graph/context.ts';

export interface PhraseList {
  name: string;
  phrases: string[];
}

export const BUILTIN_LIST_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lists');
/** Order in which 'fast' and 'classic' prompts put the lists' best phrases. */
export const BUILTIN_ORDER = ['mediums', 'styles', 'movements', 'lighting', 'flavors'] as const;
export const USER_LIST_FOLDER = 'interrogator';

export function parseList(text: string): string[] {
  const seen = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const p = line.trim().replace(/\s+/g, ' ');
    if (p && !p.startsWith('#')) seen.add(p);
  }
  return [...seen];
}

function readListFile(file: string): string[] {
  try {
    return parseList(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new WeftError(`could not read phrase list ${file}: ${(e as Error).message}`, { file, type: 'file_not_found' });
  }
}

/** Lists from every *.txt in `dir`, named by file stem, sorted by name. */
export function readListDir(dir: string): PhraseList[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.txt')).sort()
    .map((f) => ({ name: path.basename(f, path.extname(f)), phrases: readListFile(path.join(dir, f)) }))
    .filter((l) => l.phrases.length > 0);
}

export function builtinLists(): PhraseList[] {
  const all = readListDir(BUILTIN_LIST_DIR);
  const rank = (n: string) => { const i = (BUILTIN_ORDER as readonly string[]).indexOf(n); return i < 0 ? BUILTIN_ORDER.length : i; };
  return all.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/** Appends `extra` lists: same name → phrases added to that list (no duplicates), else a new list at the end. */
export function mergeLists(base: readonly PhraseList[], extra: readonly PhraseList[]): PhraseList[] {
  const out = base.map((l) => ({ name: l.name, phrases: [...l.phrases] }));
  for (const e of extra) {
    const hit = out.find((l) => l.name === e.name);
    if (hit) hit.phrases = [...new Set([...hit.phrases, ...e.phrases])];
    else out.push({ name: e.name, phrases: [...new Set(e.phrases)] });
  }
  return out.filter((l) => l.phrases.length > 0);
}

/**
 * The user's list files under models/interrogator. Hosts whose folders can name the model roots are read
 * directly (the generic model listing only shows model extensions, not .txt).
 */
export function userListFiles(folders: Folders): string[] {
  const roots = (folders as Folders & { modelRoots?: (f: string) => string[] }).modelRoots;
  const found = new Set<string>();
  if (typeof roots === 'function') {
    for (const dir of roots.call(folders, USER_LIST_FOLDER)) {
      if (!fs.existsSync(dir)) continue;
      for (const f of fs.readdirSync(dir)) if (f.toLowerCase().endsWith('.txt')) found.add(path.join(dir, f));
    }
    return [...found].sort();
  }
  try {
    for (const f of folders.listModels(USER_LIST_FOLDER)) if (f.toLowerCase().endsWith('.txt')) found.add(folders.resolveModel(USER_LIST_FOLDER, f));
  } catch { /* no such folder in this host */ }
  return [...found].sort();
}

export function readUserLists(files: readonly string[]): PhraseList[] {
  return files.map((f) => ({ name: path.basename(f, path.extname(f)), phrases: readListFile(f) })).filter((l) => l.phrases.length > 0);
}

/** Content hash of a phrase list (order matters: cached embeddings are stored row by row). */
export function listHash(phrases: readonly string[]): string {
  return createHash('sha256').update(phrases.join('\n')).digest('hex');
}
