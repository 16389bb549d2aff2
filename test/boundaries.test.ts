import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs|jsx)$/;
const UI_ONLY = [/^electron(\/|$)/, /^@comfyorg\/litegraph(\/|$)/, /^(canvas|@napi-rs\/canvas|skia-canvas)(\/|$)/];

/** Every module specifier a source file imports: static, dynamic, re-exports, require. */
export function specifiers(source: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]);
  return out;
}

type Layer = 'engine' | 'nodes' | 'app' | 'other';
function layerOf(abs: string): Layer {
  const rel = path.relative(repo, abs).split(path.sep)[0];
  return rel === 'engine' || rel === 'nodes' || rel === 'app' ? rel : 'other';
}

/** The rule a file breaks by importing `spec`, or null. */
export function violation(fileAbs: string, spec: string): string | null {
  const from = layerOf(fileAbs);
  if (from === 'app' || from === 'other') return null;
  if (UI_ONLY.some((re) => re.test(spec))) return `${from}/ must not import ${spec} (UI-only)`;
  if (!spec.startsWith('.') && !spec.startsWith('/')) return null;
  const to = layerOf(path.resolve(path.dirname(fileAbs), spec));
  if (to === 'app') return `${from}/ must not import app/ (${spec})`;
  if (from === 'engine' && to === 'nodes') return `engine/ must not import nodes/ (${spec})`;
  return null;
}

function walk(dir: string, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (SOURCE.test(e.name)) out.push(p);
  }
  return out;
}

test('the detector recognises every import form and each rule', () => {
  const src = `import a from '../nodes/x.ts';\nimport type { B } from "../../app/y.ts";\nexport * from './ok.ts';\nconst c = await import('electron');\nconst d = require('@comfyorg/litegraph');\n// import z from '../nodes/commented.ts'\n`;
  assert.deepEqual(specifiers(src), ['../nodes/x.ts', '../../app/y.ts', './ok.ts', 'electron', '@comfyorg/litegraph']);
  const engineFile = path.join(repo, 'engine/execute/x.ts');
  assert.match(violation(engineFile, '../../nodes/index.ts')!, /engine\/ must not import nodes/);
  assert.match(violation(engineFile, '../../app/main/x.ts')!, /must not import app/);
  assert.match(violation(path.join(repo, 'nodes/image/x.ts'), '../../app/a.ts')!, /nodes\/ must not import app/);
  assert.match(violation(path.join(repo, 'nodes/image/x.ts'), 'electron')!, /UI-only/);
  assert.equal(violation(path.join(repo, 'nodes/image/x.ts'), '../../engine/tensor/tensor.ts'), null);
  assert.equal(violation(path.join(repo, 'app/renderer/x.ts'), '@comfyorg/litegraph'), null);
});

test('engine/ and nodes/ respect the dependency direction and stay free of UI imports', () => {
  const files = [...walk(path.join(repo, 'engine')), ...walk(path.join(repo, 'nodes')), ...walk(path.join(repo, 'app'))];
  assert.ok(files.length > 10, 'sources were found');
  const problems: string[] = [];
  for (const f of files) {
    for (const spec of specifiers(fs.readFileSync(f, 'utf8'))) {
      const v = violation(f, spec);
      if (v) problems.push(`${path.relative(repo, f)}: ${v}`);
    }
  }
  assert.deepEqual(problems, []);
});
