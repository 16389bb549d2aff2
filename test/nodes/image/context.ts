/** A real NodeContext-shaped object over real folders, for calling node run() functions directly. */
import { after } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFolders, type WeftFolders } from '../../../engine/io/folders.ts';
import type { NodeContext } from '../../../engine/graph/context.ts';

const made: string[] = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

export function tempFolders(): WeftFolders {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-nodes-'));
  made.push(base);
  const dirs = { modelsDir: 'models', inputDir: 'input', outputDir: 'output', tempDir: 'temp' } as const;
  for (const d of Object.values(dirs)) fs.mkdirSync(path.join(base, d));
  return createFolders({
    modelsDir: path.join(base, dirs.modelsDir),
    inputDir: path.join(base, dirs.inputDir),
    outputDir: path.join(base, dirs.outputDir),
    tempDir: path.join(base, dirs.tempDir),
  });
}

export function nodeContext(folders: WeftFolders, classType: string, extra: Partial<Pick<NodeContext, 'prompt' | 'extraPngInfo'>> = {}): NodeContext {
  const warnings: string[] = [];
  return {
    nodeId: '1',
    classType,
    promptId: 'test-prompt',
    signal: new AbortController().signal,
    services: { folders },
    prompt: extra.prompt ?? {},
    extraPngInfo: extra.extraPngInfo,
    progress() {},
    checkAbort() {},
    warn(m) {
      warnings.push(m);
    },
  };
}
