// Deterministic bytes for tests: pattern(n, seed)[i] is the same in every run and every place
// (Node tests, and the browser page, which is served this file).

/** n bytes from a linear congruential generator seeded with `seed`. */
export function pattern(n, seed = 1) {
  const out = new Uint8Array(n)
  let x = (seed * 2654435761) >>> 0
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = (x >>> 16) & 0xff
  }
  return out
}
