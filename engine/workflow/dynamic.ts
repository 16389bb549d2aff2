/**
 * What ComfyUI's frontend does to some widget values as it serializes a prompt: `dynamicPrompts`
 * strings lose C-style comments and get one option of each {a|b} picked; save nodes' filename_prefix
 * gets %date:…% and %Node.widget% tokens replaced (backend tokens like %width% are left alone).
 */
export function processDynamicPrompt(source: string, random: () => number = Math.random): string {
  const text = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*/g, '');
  let pos = 0;

  // Reads up to the matching '}' and returns the chosen option, itself expanded.
  const readChoice = (): string => {
    const options: string[] = [];
    let current = '';
    let depth = 0;
    while (pos < text.length) {
      const ch = text[pos++]!;
      if (ch === '\\') {
        current += ch + (text[pos++] ?? '');
        continue;
      }
      if (ch === '}' && depth === 0) break;
      if (ch === '|' && depth === 0) {
        options.push(current);
        current = '';
        continue;
      }
      if (ch === '{') depth++;
      if (ch === '}') depth--;
      current += ch;
    }
    options.push(current);
    const picked = options[Math.floor(random() * options.length)] ?? '';
    return processDynamicPrompt(picked, random);
  };

  let out = '';
  while (pos < text.length) {
    const ch = text[pos++]!;
    if (ch === '\\') out += ch + (text[pos++] ?? '');
    else if (ch === '{') out += readChoice();
    else out += ch;
  }
  return out;
}

/** Class names whose filename_prefix the frontend expands before queueing. */
export const SAVE_NODE_TYPES = new Set([
  'SaveImage', 'SaveAnimatedWEBP', 'SaveAnimatedPNG', 'SaveWEBM', 'SaveVideo', 'SaveAudio', 'SaveGLB',
  'SaveLatent', 'CLIPSave', 'VAESave', 'ModelSave', 'LoraSave',
]);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function formatDate(format: string, d: Date): string {
  const parts: Record<string, string> = {
    yyyy: String(d.getFullYear()),
    yy: pad(d.getFullYear() % 100),
    MM: pad(d.getMonth() + 1),
    M: String(d.getMonth() + 1),
    dd: pad(d.getDate()),
    d: String(d.getDate()),
    hh: pad(d.getHours()),
    h: String(d.getHours()),
    mm: pad(d.getMinutes()),
    m: String(d.getMinutes()),
    ss: pad(d.getSeconds()),
    s: String(d.getSeconds()),
  };
  return format.replace(/yyyy|yy|MM|M|dd|d|hh|h|mm|m|ss|s/g, (k) => parts[k]!);
}

/**
 * Expands %date:fmt% and %NodeName.widget% (NodeName = a node's "Node name for S&R" or its title).
 * Unresolvable tokens stay as written, like the frontend leaves them.
 */
export function applyTextReplacements(
  value: string,
  lookup: (node: string, widget: string) => unknown,
  now: Date = new Date(),
): string {
  return value.replace(/%([^%]+)%/g, (match, body: string) => {
    const split = body.split('.');
    if (split.length !== 2) {
      if (split[0]!.startsWith('date:')) return formatDate(split[0]!.slice(5), now);
      return match;
    }
    const v = lookup(split[0]!, split[1]!);
    if (v === undefined) return match;
    return String(v ?? '').replace(/[/?<>\\:*|"]/g, '_');
  });
}
