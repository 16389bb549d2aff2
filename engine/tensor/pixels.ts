/**
 * 8/16-bit ↔ float conversions exactly as ComfyUI's numpy code performs them, shared by image
 * decoding, PNG encoding and PIL-backed resizes so the rounding lives in one place.
 */

/** numpy's `np.array(img).astype(np.float32) / 255.0`, as a table. */
export const BYTE_TO_FLOAT: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();

let word16: Float32Array | undefined;

/** v / 65535 for 16-bit samples (built on first use). */
export function wordToFloat(): Float32Array {
  if (!word16) {
    word16 = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) word16[i] = i / 65535;
  }
  return word16;
}

/**
 * ComfyUI's `np.clip(255. * x, 0, 255).astype(np.uint8)`: the product is float32, the cast
 * truncates (0.999 → 254, not 255) and NaN becomes 0.
 */
export function toByte(x: number): number {
  const v = Math.fround(255 * x);
  if (!(v > 0)) return 0;
  return v >= 255 ? 255 : Math.trunc(v);
}
