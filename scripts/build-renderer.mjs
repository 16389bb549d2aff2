#!/usr/bin/env node
// Bundles the UI with esbuild, offline and in about a second:
//   out/renderer/  index.html, main.js, main.css, workflows/ (examples + index.json)  ← served by the engine server
//   --electron     also out/main.cjs and out/preload.cjs (Electron's main process and sandboxed preload)
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Lists what a bundle was built from, so `npm start` can tell whether it is stale. */
const STAMP = 'build-inputs.json';

export async function buildRenderer({ outDir = join(root, 'out/renderer'), minify = true } = {}) {
  // Build next to the target and swap it in at the end, so a server already serving `outDir` (another
  // `npm start`, a test) never sees a half-written bundle for more than a rename.
  const startedAt = Date.now(); // a source saved while esbuild runs must still count as newer
  const final = outDir;
  outDir = `${final}.tmp-${process.pid}`;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const js = await build({
    metafile: true,
    entryPoints: { main: join(root, 'app/renderer/main.tsx') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120'],
    outdir: outDir,
    minify,
    sourcemap: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    logLevel: 'warning',
    legalComments: 'linked',
  });
  const css = await build({
    metafile: true,
    entryPoints: { main: join(root, 'app/renderer/styles.css') },
    bundle: true,
    outdir: outDir,
    minify,
    logLevel: 'warning',
  });
  copyFileSync(join(root, 'app/renderer/index.html'), join(outDir, 'index.html'));
  writeExamples(join(outDir, 'workflows'));
  const inputs = [...Object.keys(js.metafile.inputs), ...Object.keys(css.metafile.inputs)]
    .map((f) => resolve(root, f))
    .filter((f) => !f.includes(`${join('node_modules', '')}`));
  const sources = [...new Set([...inputs, join(root, 'app/renderer/index.html'), join(root, 'workflows')])].map((f) => relative(root, f));
  writeFileSync(join(outDir, STAMP), JSON.stringify({ builtAt: startedAt, sources }));
  rmSync(final, { recursive: true, force: true });
  renameSync(outDir, final);
  return final;
}

/**
 * Whether `outDir` needs a (re)build: missing, built by an older script without the stamp, or one of
 * the recorded sources (or the examples folder, or a file in it) changed since. Dependencies in
 * node_modules are not checked: they change only on install, and then a rebuild is one command.
 */
export function rendererIsStale(outDir = join(root, 'out/renderer'), base = root) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(outDir, STAMP), 'utf8'));
    if (!existsSync(join(outDir, 'index.html'))) return true;
  } catch {
    return true;
  }
  const newer = (p) => {
    try {
      const st = statSync(p);
      if (st.mtimeMs > stamp.builtAt) return true;
      return st.isDirectory() && readdirSync(p).some((f) => statSync(join(p, f)).mtimeMs > stamp.builtAt);
    } catch {
      return true; // a source that vanished: rebuild rather than serve a bundle of deleted code
    }
  };
  return stamp.sources.some((f) => newer(resolve(base, f)));
}

/**
 * Example workflows ship with the UI as static files, so no server route is needed. The menu follows
 * workflows/index.json (its order, titles, descriptions); without one, every UI-format file is listed.
 */
function writeExamples(dir) {
  mkdirSync(dir, { recursive: true });
  const src = join(root, 'workflows');
  let listed = null;
  try {
    listed = JSON.parse(readFileSync(join(src, 'index.json'), 'utf8'));
  } catch {
    /* no catalogue: fall back to the folder listing */
  }
  const entries = Array.isArray(listed)
    ? listed.filter((e) => typeof e?.file === 'string').map((e) => ({ file: e.file, name: e.title ?? e.file, description: e.description }))
    : (existsSync(src) ? readdirSync(src).sort() : []).filter((f) => f.endsWith('.json') && f !== 'index.json').map((f) => ({ file: f, name: f.replace(/\.json$/, '').replace(/[_-]+/g, ' ') }));
  const index = [];
  for (const e of entries) {
    if (e.file.includes('/') || e.file.includes('\\') || !existsSync(join(src, e.file))) continue;
    try {
      if (!Array.isArray(JSON.parse(readFileSync(join(src, e.file), 'utf8'))?.nodes)) continue; // API-format files cannot be opened as a graph
    } catch {
      continue;
    }
    copyFileSync(join(src, e.file), join(dir, e.file));
    index.push(e);
  }
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
}

export async function buildElectron({ outDir = join(root, 'out') } = {}) {
  const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning', sourcemap: true };
  // Main loads the engine server from source at runtime (through tsx), so only the shell is bundled.
  await build({ ...common, entryPoints: [join(root, 'app/main/main.ts')], outfile: join(outDir, 'main.cjs'), external: ['electron', 'tsx', 'tsx/*'] });
  // A sandboxed preload may require only 'electron': everything else is bundled in.
  await build({ ...common, entryPoints: [join(root, 'app/preload/preload.ts')], outfile: join(outDir, 'preload.cjs'), external: ['electron'] });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t = Date.now();
  await buildRenderer({ minify: !process.argv.includes('--dev') });
  if (process.argv.includes('--electron')) await buildElectron();
  console.log(`built UI in ${Date.now() - t} ms`);
}
