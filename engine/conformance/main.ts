/**
 * CLI: node --import tsx engine/conformance/main.ts <dir> [--only prefix[,prefix…]] [--handlers dir]
 * Exit status 0 only when no case failed (skips do not fail the run).
 */
import { runConformance } from './runner.ts';

async function main(argv: string[]): Promise<number> {
  // `--ep webgpu [--fp16]`: the model-call cases on the GPU graph variants (engine/conformance/gpu.ts).
  if (argv.includes('--ep')) return (await import('./gpu.ts')).gpuMain(argv);
  let dir: string | undefined;
  const only: string[] = [];
  let handlersDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') only.push(...(argv[++i] ?? '').split(',').filter(Boolean));
    else if (a.startsWith('--only=')) only.push(...a.slice(7).split(',').filter(Boolean));
    else if (a === '--handlers') handlersDir = argv[++i];
    else if (!dir) dir = a;
    else {
      console.error(`unexpected argument ${a}`);
      return 2;
    }
  }
  if (!dir) {
    console.error('usage: conformance <dir> [--only prefix]');
    return 2;
  }
  const s = await runConformance(dir, { only, handlersDir });
  return s.failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`conformance runner error: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(2);
  },
);
