/**
 * Comparing saved pictures by their pixels: two PNGs of one graph differ in their text chunks whenever the
 * prompts that made them differ, so byte equality says nothing about the image.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';

export async function raw(bytes: Buffer): Promise<{ data: Buffer; w: number; h: number }> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, w: info.width, h: info.height };
}

/** Mean absolute 8-bit difference inside and outside a mask (true = inside). */
export async function diffByMask(a: Buffer, b: Buffer, inside: (x: number, y: number, w: number, h: number) => boolean): Promise<{ inside: number; outside: number }> {
  const [A, B] = [await raw(a), await raw(b)];
  assert.deepEqual([A.w, A.h], [B.w, B.h]);
  const sum = { inside: 0, outside: 0 };
  const n = { inside: 0, outside: 0 };
  for (let y = 0; y < A.h; y++) {
    for (let x = 0; x < A.w; x++) {
      const k = inside(x, y, A.w, A.h) ? 'inside' : 'outside';
      for (let c = 0; c < 3; c++) sum[k] += Math.abs(A.data[(y * A.w + x) * 3 + c]! - B.data[(y * A.w + x) * 3 + c]!);
      n[k] += 3;
    }
  }
  return { inside: sum.inside / n.inside, outside: sum.outside / n.outside };
}

/** Mean absolute 8-bit difference over the whole picture. */
export async function meanDiff(a: Buffer, b: Buffer): Promise<number> {
  return (await diffByMask(a, b, () => false)).outside;
}
