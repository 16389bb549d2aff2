#!/usr/bin/env node
// Bundles the UI with esbuild, offline and in about a second:
//   out/renderer/  index.html, main.js, main.css, workflows/ (examples + index.json)  ← served by the engine server
//   --electron     also out/main.cjs and out/preload.cjs (Electron's main process and sandboxed preload)
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildRenderer({ outDir = join(root, 'out/renderer'), minify = true } = {}) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
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
  await build({
    entryPoints: { main: join(root, 'app/renderer/styles.css') },
    bundle: true,
    outdir: outDir,
    minify,
    logLevel: 'warning',
  });
  copyFileSync(join(root, 'app/renderer/index.html'), join(outDir, 'index.html'));
  writeExamples(join(outDir, 'workflows'));
  return outDir;
}

/** Example workflows from workflows/ ship with the UI as static files, so no server route is needed. */
function writeExamples(dir) {
  mkdirSync(dir, { recursive: true });
  const src = join(root, 'workflows');
  const index = [];
  for (const f of existsSync(src) ? readdirSync(src).sort() : []) {
    if (!f.endsWith('.json')) continue;
    const text = readFileSync(join(src, f), 'utf8');
    try {
      const wf = JSON.parse(text);
      if (!Array.isArray(wf?.nodes)) continue; // API-format files cannot be opened as a graph directly
    } catch {
      continue;
    }
    copyFileSync(join(src, f), join(dir, f));
    index.push({ name: f.replace(/\.json$/, '').replace(/[_-]+/g, ' '), file: f });
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
