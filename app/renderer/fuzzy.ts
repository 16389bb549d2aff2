/**
 * Node search: fuzzy subsequence match over display name, class name and category, best first.
 * Consecutive and word-start hits score higher so "ksam" ranks KSampler over KSamplerAdvanced' peers.
 */
export interface SearchItem {
  type: string;
  title: string;
  category: string;
}

/** Score of `query` as a subsequence of `text` (case-insensitive), or -1 when it is not one. */
export function fuzzyScore(query: string, text: string): number {
  const q = query.toLowerCase();
  const t = text.toLowerCase();
  if (!q) return 0;
  let score = 0;
  let ti = 0;
  let run = 0;
  for (const ch of q) {
    const found = t.indexOf(ch, ti);
    if (found < 0) return -1;
    run = found === ti ? run + 1 : 0;
    const wordStart = found === 0 || /[\s_/\-(]/.test(t[found - 1]) || (text[found] !== t[found] && text[found - 1] === t[found - 1]);
    score += 1 + run * 2 + (wordStart ? 3 : 0) - Math.min(found - ti, 5) * 0.2;
    ti = found + 1;
  }
  if (t.startsWith(q)) score += 10;
  if (t === q) score += 20;
  return score - t.length * 0.01;
}

export function searchNodes(items: readonly SearchItem[], query: string, limit = 30): SearchItem[] {
  const words = query.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return items.slice(0, limit);
  const scored: { item: SearchItem; score: number }[] = [];
  for (const item of items) {
    let total = 0;
    let ok = true;
    for (const w of words) {
      const s = Math.max(fuzzyScore(w, item.title), fuzzyScore(w, item.type), fuzzyScore(w, item.category) * 0.5);
      if (s < 0) {
        ok = false;
        break;
      }
      total += s;
    }
    if (ok) scored.push({ item, score: total });
  }
  scored.sort((a, b) => b.score - a.score || a.item.title.localeCompare(b.item.title));
  return scored.slice(0, limit).map((s) => s.item);
}
