/**
 * Conformance runner: reads `<dir>/cases.json`, hands each case to the first handler whose `match`
 * accepts it, and compares every `expected.*` tensor with the tolerance rule
 * max|got − expected| ≤ abs + rel_to_max · max|expected|. A handler that throws fails only its own case.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseLossless } from 'lossless-json';
import { SafetensorsFile } from '../io/safetensors.ts';
import type { CaseContext, CaseHandler, CaseTensor, ConformanceCase } from './types.ts';

export interface RunOptions {
  /** Only cases whose name starts with one of these prefixes. */
  only?: string[];
  /** Folder of handler modules; defaults to engine/conformance/handlers. */
  handlersDir?: string;
  /** Receives every printed line (defaults to console.log). */
  log?: (line: string) => void;
}

export interface RunSummary {
  passed: number;
  failed: number;
  skipped: number;
  lines: string[];
}

export interface Comparison {
  ok: boolean;
  err: number;
  tol: number;
  reason?: string;
}

/** The tolerance rule of cases.json for one tensor; NaN anywhere fails. */
export function compareTensor(got: Float32Array, expected: ArrayLike<number>, tol: { abs: number; rel_to_max: number }): Comparison {
  let maxExp = 0;
  for (let i = 0; i < expected.length; i++) maxExp = Math.max(maxExp, Math.abs(expected[i]!));
  const bound = tol.abs + tol.rel_to_max * maxExp;
  if (got.length !== expected.length) return { ok: false, err: Infinity, tol: bound, reason: `length ${got.length} != ${expected.length}` };
  let err = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - expected[i]!);
    if (Number.isNaN(d)) return { ok: false, err: NaN, tol: bound, reason: `NaN at index ${i}` };
    if (d > err) err = d;
  }
  return { ok: err <= bound, err, tol: bound };
}

export function readCaseTensors(path: string): Map<string, CaseTensor> {
  const f = SafetensorsFile.open(path);
  try {
    const out = new Map<string, CaseTensor>();
    for (const [name, t] of f.tensors) {
      const isInt = t.dtype === 'I64' || t.dtype === 'I32' || t.dtype === 'I16' || t.dtype === 'I8' || t.dtype === 'U8' || t.dtype === 'BOOL';
      const data = isInt ? f.readBigInt64(name) : f.readFloat32(name);
      out.set(name, { shape: t.shape, dtype: isInt ? 'int64' : 'float32', data });
    }
    return out;
  } finally {
    f.close();
  }
}

function toNumbers(t: CaseTensor): ArrayLike<number> {
  if (t.data instanceof BigInt64Array) return Float64Array.from(t.data, (v) => Number(v));
  return t.data;
}

export async function loadHandlers(dir: string, log: (l: string) => void): Promise<CaseHandler[]> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts') && !f.includes('.test.')).sort();
  } catch {
    return [];
  }
  const handlers: CaseHandler[] = [];
  for (const f of files) {
    try {
      const mod = (await import(pathToFileURL(join(dir, f)).href)) as { handler?: CaseHandler };
      if (mod.handler && typeof mod.handler.match === 'function' && typeof mod.handler.run === 'function') handlers.push(mod.handler);
      else log(`WARN handler file ${f} exports no \`handler\``);
    } catch (e) {
      // Another engineer's half-written handler must not take the whole run down.
      log(`WARN handler file ${f} failed to load: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return handlers;
}

/** JSON.parse, except integers beyond 2^53 (seeds up to 2^64−1) become exact bigints instead of rounding. */
export function parseCasesJson(text: string): unknown {
  return parseLossless(text, null, (v: string) => {
    const n = Number(v);
    return /^-?\d+$/.test(v) && !Number.isSafeInteger(n) ? BigInt(v) : n;
  });
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toExponential(3) : String(x));

export async function runConformance(dirArg: string, opts: RunOptions = {}): Promise<RunSummary> {
  const lines: string[] = [];
  const log = (l: string): void => {
    lines.push(l);
    (opts.log ?? console.log)(l);
  };
  const dir = resolve(dirArg);
  const doc = parseCasesJson(readFileSync(join(dir, 'cases.json'), 'utf8')) as { cases: ConformanceCase[]; conventions?: Record<string, any> };
  const handlersDir = opts.handlersDir ?? join(dirname(fileURLToPath(import.meta.url)), 'handlers');
  const handlers = await loadHandlers(handlersDir, log);
  const summary: RunSummary = { passed: 0, failed: 0, skipped: 0, lines };
  for (const c of doc.cases) {
    if (opts.only && opts.only.length > 0 && !opts.only.some((p) => c.name.startsWith(p))) continue;
    const h = handlers.find((x) => {
      try {
        return x.match(c);
      } catch {
        return false;
      }
    });
    if (!h) {
      summary.skipped++;
      log(`SKIP ${c.name} no handler`);
      continue;
    }
    let cache: Map<string, CaseTensor> | undefined;
    const ctx: CaseContext = {
      dir,
      conventions: doc.conventions ?? {},
      tensors: async () => (cache ??= readCaseTensors(join(dir, c.file))),
      model: (role: string) => {
        const rel = c.models?.[role];
        if (!rel) throw new Error(`case ${c.name} names no model for role '${role}'`);
        return resolve(dir, rel);
      },
    };
    const t0 = performance.now();
    try {
      const out = await h.run(c, ctx);
      const ms = (performance.now() - t0).toFixed(0);
      if ('skip' in out) {
        summary.skipped++;
        log(`SKIP ${c.name} ${h.topic}: ${out.skip}`);
        continue;
      }
      const tensors = await ctx.tensors();
      let worst: Comparison = { ok: true, err: 0, tol: 0 };
      let worstRatio = -1;
      const bad: string[] = [];
      for (const [key, ref] of Object.entries(c.expected)) {
        const exp = tensors.get(ref.tensor);
        const got = out.got[key];
        let cmp: Comparison;
        if (!exp) cmp = { ok: false, err: Infinity, tol: 0, reason: `${ref.tensor} missing from vectors file` };
        else if (!got) cmp = { ok: false, err: Infinity, tol: 0, reason: 'not produced' };
        else cmp = compareTensor(got, toNumbers(exp), c.tolerance);
        if (!cmp.ok) bad.push(cmp.reason ? `${key}: ${cmp.reason}` : `${key} err=${fmt(cmp.err)} tol=${fmt(cmp.tol)}`);
        const ratio = cmp.tol > 0 ? cmp.err / cmp.tol : cmp.err === 0 ? 0 : Infinity;
        if (!(ratio <= worstRatio)) {
          worstRatio = ratio;
          worst = cmp;
        }
      }
      const note = out.note ? ` (${out.note})` : '';
      if (bad.length === 0) {
        summary.passed++;
        log(`PASS ${c.name} err=${fmt(worst.err)} tol=${fmt(worst.tol)} ${ms}ms${note}`);
      } else {
        summary.failed++;
        log(`FAIL ${c.name} err=${fmt(worst.err)} tol=${fmt(worst.tol)} [${bad.join('; ')}]${note}`);
      }
    } catch (e) {
      summary.failed++;
      log(`FAIL ${c.name} error: ${(e as Error)?.message ?? String(e)}`);
    }
  }
  log(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
  return summary;
}
