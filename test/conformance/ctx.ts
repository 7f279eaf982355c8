// What every conformance area receives: the module under test and which backend it is.
// `Api` is a type-only import (esbuild erases it): the shape of the public module.
export type Api = typeof import('../../src/index')

export interface Ctx {
  /** the entry under test: `mmapfile/native` or `mmapfile/wasm` (or `mmapfile`) */
  api: Api
  /** prefix of every suite name, e.g. 'native' */
  label: string
  backend: 'native' | 'wasm'
}

/** The entry a child process imports to test the same backend. */
export function entry(ctx: Ctx): string {
  return `mmapfile/${ctx.backend}`
}

export const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array
] as const
