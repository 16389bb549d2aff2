/**
 * Sinusoidal (timestep / size) embeddings bit-compatible with torch on CPU.
 *
 * torch's float32 exp is SLEEF's vectorised expf_u10, which is not correctly rounded: it is off by one ulp
 * for some inputs. At t ≈ 1000 one ulp of a frequency moves the angle by ~6e-5, far beyond the 1e-6
 * tolerance of the SDXL ADM vectors, so the polynomial is reproduced here step by step (FMA emulated in
 * float64: the product of two float32 values is exact there).
 */
const f = Math.fround;
const fma = (a: number, b: number, c: number) => f(a * b + c);

/** SLEEF expf_u10 (the AVX2/AVX-512 path torch uses for float32 tensors). */
export function torchExpF32(x: number): number {
  const d = f(x);
  const q = Math.round(f(d * f(1.442695040888963407359924681001892137426645954152985934135449406931)));
  let s = fma(q, f(-0.693145751953125), d);
  s = fma(q, f(-1.428606765330187045e-6), s);
  let u = f(0.000198527617612853646278381);
  u = fma(u, s, f(0.00139304355252534151077271));
  u = fma(u, s, f(0.00833336077630519866943359));
  u = fma(u, s, f(0.0416664853692054748535156));
  u = fma(u, s, f(0.166666671633720397949219));
  u = fma(u, s, 0.5);
  u = f(1 + fma(f(s * s), u, s));
  const r = f(u * 2 ** q);
  if (d < -104) return 0;
  if (d > 100) return Infinity;
  return r;
}

/** cat(cos(t·f), sin(t·f)), f_i = exp(−ln(P)·i/half), computed with torch's float32 rounding at each step. */
export function sinusoidalEmbedding(t: number, dim = 256, maxPeriod = 10000): Float32Array {
  const half = Math.floor(dim / 2);
  const out = new Float32Array(dim);
  const c = f(-Math.log(maxPeriod));
  for (let i = 0; i < half; i++) {
    const freq = torchExpF32(f(f(c * i) / half));
    const a = f(f(t) * freq);
    out[i] = Math.cos(a);
    out[half + i] = Math.sin(a);
  }
  return out;
}
