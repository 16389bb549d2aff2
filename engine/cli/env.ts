import path from 'node:path';
import { createFolders, type WeftFolders } from '../io/folders.ts';
import type { ParsedArgs } from './args.ts';
import { flag } from './args.ts';

export interface CliIO {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  cwd: string;
  env: Record<string, string | undefined>;
}

export const FOLDER_FLAGS = ['models', 'input', 'output', 'temp', 'extra-model-paths'] as const;

/** Folders from flags, else $WEFT_HOME/<name>, else ./<name> relative to the working directory. */
export function foldersFromArgs(args: ParsedArgs, io: CliIO): WeftFolders {
  const home = io.env.WEFT_HOME ? path.resolve(io.cwd, io.env.WEFT_HOME) : io.cwd;
  const dir = (name: string) => path.resolve(io.cwd, flag(args, name) ?? path.join(home, name));
  const extra = args.flags.get('extra-model-paths')?.map((f) => path.resolve(io.cwd, f));
  return createFolders({ modelsDir: dir('models'), inputDir: dir('input'), outputDir: dir('output'), tempDir: dir('temp'), extraModelPaths: extra });
}
