// Chunk fingerprints: NH (the inner hash of UMAC) run twice with two independent random keys.
//
// For 32-bit words m and key words k (both little-endian), one NH pass over a chunk is
//   NH_k(m) = sum over pairs (a, b) of ((m_a + k_a) mod 2^32) * ((m_b + k_b) mod 2^32)  mod 2^64,
// where the pairs are words (j, j + 4) of every 32-byte block. A chunk whose length is not a multiple
// of 32 is padded with zero bytes; a chunk is only ever compared with the same chunk at the same length.
//
// Collision bound: for any two different contents of equal length, a pass with a uniformly random key
// gives the same value with probability at most 2^-32 (Black, Halevi, Krawczyk, Krovetz, Rogaway,
// "UMAC: Fast and Secure Message Authentication", CRYPTO 1999, Theorem 1; the fixed order in which
// words are paired does not matter). The two passes use independent keys, so a changed chunk keeps
// its 128-bit fingerprint with probability at most 2^-64, each time it is checked, for changes that
// do not depend on the keys. The keys come from WASI random_get, drawn once per process by the
// backend's control instance; the backend copies them into an instance before every call that hashes
// (src/wasm/backend.ts), so that nothing the module trusts lives only where JavaScript can write.

/** Bytes per chunk: the unit of write-back (capabilities.writeBackGranularity). */
export const CHUNK: usize = 65536
/** Bytes per fingerprint. */
export const FP_BYTES: usize = 16

/** The keys: CHUNK bytes each, at the start of pages 1 and 2. */
export const KEY1: usize = 65536
export const KEY2: usize = 131072

const TAIL: usize = memory.data(32, 16)

// @ts-ignore: decorator
@inline function pairs(acc: v128, x0: v128, x1: v128): v128 {
  return i64x2.add(i64x2.add(acc, i64x2.extmul_low_i32x4_u(x0, x1)), i64x2.extmul_high_i32x4_u(x0, x1))
}

// @ts-ignore: decorator
@inline function fold(acc: v128): u64 {
  return i64x2.extract_lane(acc, 0) + i64x2.extract_lane(acc, 1)
}

/** Fingerprint of n <= CHUNK bytes at p, to out (16 bytes). The keys must cover n rounded up to 32. */
export function hashChunk(p: usize, n: usize, out: usize): void {
  let a = i64x2.splat(0)
  let b = i64x2.splat(0)
  const full = n & ~(<usize>31)
  for (let i: usize = 0; i < full; i += 32) {
    const d0 = v128.load(p + i)
    const d1 = v128.load(p + i, 16)
    a = pairs(a, i32x4.add(d0, v128.load(KEY1 + i)), i32x4.add(d1, v128.load(KEY1 + i, 16)))
    b = pairs(b, i32x4.add(d0, v128.load(KEY2 + i)), i32x4.add(d1, v128.load(KEY2 + i, 16)))
  }
  if (full < n) {
    v128.store(TAIL, i64x2.splat(0))
    v128.store(TAIL, i64x2.splat(0), 16)
    memory.copy(TAIL, p + full, n - full)
    const d0 = v128.load(TAIL)
    const d1 = v128.load(TAIL, 16)
    a = pairs(a, i32x4.add(d0, v128.load(KEY1 + full)), i32x4.add(d1, v128.load(KEY1 + full, 16)))
    b = pairs(b, i32x4.add(d0, v128.load(KEY2 + full)), i32x4.add(d1, v128.load(KEY2 + full, 16)))
  }
  store<u64>(out, fold(a))
  store<u64>(out, fold(b), 8)
}

/** Fingerprints of the two full chunks at p and p + CHUNK, to out (32 bytes): one pass over both
 *  shares the key loads and keeps two streams of loads in flight (about 1.4x faster than one by one). */
export function hashTwoChunks(p: usize, out: usize): void {
  let a = i64x2.splat(0)
  let b = i64x2.splat(0)
  let c = i64x2.splat(0)
  let d = i64x2.splat(0)
  const q = p + CHUNK
  for (let i: usize = 0; i < CHUNK; i += 32) {
    const k0 = v128.load(KEY1 + i)
    const k1 = v128.load(KEY1 + i, 16)
    const l0 = v128.load(KEY2 + i)
    const l1 = v128.load(KEY2 + i, 16)
    const d0 = v128.load(p + i)
    const d1 = v128.load(p + i, 16)
    const e0 = v128.load(q + i)
    const e1 = v128.load(q + i, 16)
    a = pairs(a, i32x4.add(d0, k0), i32x4.add(d1, k1))
    b = pairs(b, i32x4.add(d0, l0), i32x4.add(d1, l1))
    c = pairs(c, i32x4.add(e0, k0), i32x4.add(e1, k1))
    d = pairs(d, i32x4.add(e0, l0), i32x4.add(e1, l1))
  }
  store<u64>(out, fold(a))
  store<u64>(out, fold(b), 8)
  store<u64>(out, fold(c), 16)
  store<u64>(out, fold(d), 24)
}

/** Fingerprint of n <= CHUNK zero bytes, to out, without touching any data. */
export function hashZeros(n: usize, out: usize): void {
  let a = i64x2.splat(0)
  let b = i64x2.splat(0)
  for (let i: usize = 0; i < n; i += 32) {
    a = pairs(a, v128.load(KEY1 + i), v128.load(KEY1 + i, 16))
    b = pairs(b, v128.load(KEY2 + i), v128.load(KEY2 + i, 16))
  }
  store<u64>(out, fold(a))
  store<u64>(out, fold(b), 8)
}

/** Whether the fingerprints at x and y are equal. */
// @ts-ignore: decorator
@inline export function sameFingerprint(x: usize, y: usize): bool {
  return load<u64>(x) == load<u64>(y) && load<u64>(x, 8) == load<u64>(y, 8)
}
