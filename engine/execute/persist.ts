import fs from 'node:fs';
import path from 'node:path';

/** JSON with bigints kept exact (seeds): written as {"__bigint__": "…"}. */
export function stringifyWithBigInt(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? { __bigint__: v.toString() } : v));
}

export function parseWithBigInt(text: string): unknown {
  return JSON.parse(text, (_k, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && typeof v.__bigint__ === 'string' && Object.keys(v).length === 1) return BigInt(v.__bigint__);
    return v;
  });
}

/** Writes a file so that a crash leaves either the old or the new content, never half of one. */
export function writeFileAtomic(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, data);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
