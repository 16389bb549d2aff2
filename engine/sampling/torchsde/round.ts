/**
 * Python's round(x, ndigits) for floats: the double nearest to x correctly rounded to `ndigits` decimals,
 * exact ties to even. torchsde quantises every interval end and query time with it (tol 1e-6 → 6 digits),
 * and a time that lands one grid point off changes which dyadic intervals a query decomposes into.
 */
export function pyRound(x: number, ndigits: number): number {
  if (!Number.isFinite(x)) return x;
  if (ndigits < 0 || ndigits > 20 || !Number.isInteger(ndigits)) throw new RangeError(`pyRound: unsupported ndigits ${ndigits}`);
  if (Math.abs(x) >= 1e21) return x;
  // toFixed rounds the exact binary value correctly but breaks exact ties toward the larger n; Python goes
  // to even. A tie needs x = m / 2^(ndigits+1) with m odd (the only dyadic halfway points), so test that.
  const scaled = x * 2 ** (ndigits + 1);
  if (Number.isInteger(scaled) && !Number.isInteger(x * 2 ** ndigits) && Math.abs(scaled) * 5 ** ndigits < 2 ** 53) {
    // x·10^d = scaled·5^d / 2 exactly; floor and ceil are the two candidates, keep the even one.
    const twice = scaled * 5 ** ndigits;
    const lo = Math.floor(twice / 2);
    const n = lo % 2 === 0 ? lo : lo + 1;
    return Number(`${n}e-${ndigits}`);
  }
  return Number(x.toFixed(ndigits));
}
