// What the differential fuzzer's sequences are made of: element types (typed arrays and struct types
// with the C layout written out by hand, so that the model does not borrow the library's own layout
// code), the operations, values as text, and a seeded PRNG. Everything here is plain data: a sequence
// is JSON, so that a shrunk failure can be saved, printed and replayed.

/** wasm's write-back granule; both models place boundaries with it (API.md: granules align to file offsets). */
export const CHUNK = 65536

/** Scalars as struct fields name them, plus 'c8' for Uint8ClampedArray. */
export type Scalar = 'i8' | 'u8' | 'c8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64'

const SCALAR_SIZE: { readonly [S in Scalar]: number } = {
  i8: 1,
  u8: 1,
  c8: 1,
  i16: 2,
  u16: 2,
  i32: 4,
  u32: 4,
  i64: 8,
  u64: 8,
  f32: 4,
  f64: 8
}

/** One scalar leaf of a struct: `path` as the executor walks it ("n.q", "v[1]", "pts[2].x"). */
export interface Leaf {
  readonly path: string
  readonly offset: number
  readonly scalar: Scalar
}

export interface ElemType {
  readonly name: string
  readonly size: number
  /** the typed array's scalar; null for a struct type */
  readonly scalar: Scalar | null
  /** a struct type's leaves, in C layout; empty for a typed array */
  readonly leaves: readonly Leaf[]
  /** what `mmapfile.struct` is given; null for a typed array */
  readonly fields: unknown
}

const TYPED: ReadonlyArray<[string, Scalar]> = [
  ['Int8Array', 'i8'],
  ['Uint8Array', 'u8'],
  ['Uint8ClampedArray', 'c8'],
  ['Int16Array', 'i16'],
  ['Uint16Array', 'u16'],
  ['Int32Array', 'i32'],
  ['Uint32Array', 'u32'],
  ['Float32Array', 'f32'],
  ['Float64Array', 'f64'],
  ['BigInt64Array', 'i64'],
  ['BigUint64Array', 'u64']
]

const leaves = (list: Array<[string, number, Scalar]>): Leaf[] =>
  list.map(([path, offset, scalar]) => ({ path, offset, scalar }))

// Odd sizes on purpose: elements then straddle page and chunk boundaries in every way.
const POINT = { x: 'i16', y: 'u8' } // 4 bytes, alignment 2
const STRUCTS: ElemType[] = [
  {
    name: 'S3',
    size: 3,
    scalar: null,
    fields: { a: 'u8', b: 'i8', c: 'u8' },
    leaves: leaves([
      ['a', 0, 'u8'],
      ['b', 1, 'i8'],
      ['c', 2, 'u8']
    ])
  },
  {
    name: 'S6',
    size: 6,
    scalar: null,
    fields: { a: 'u8', b: 'u16', c: 'u8' },
    leaves: leaves([
      ['a', 0, 'u8'],
      ['b', 2, 'u16'],
      ['c', 4, 'u8']
    ])
  },
  {
    name: 'S12',
    size: 12,
    scalar: null,
    fields: { a: 'u8', b: 'u32', c: 'u8' },
    leaves: leaves([
      ['a', 0, 'u8'],
      ['b', 4, 'u32'],
      ['c', 8, 'u8']
    ])
  },
  {
    name: 'S16',
    size: 16,
    scalar: null,
    fields: { a: 'u8', b: 'u32', c: 'f64' },
    leaves: leaves([
      ['a', 0, 'u8'],
      ['b', 4, 'u32'],
      ['c', 8, 'f64']
    ])
  },
  {
    name: 'S20',
    size: 20,
    scalar: null,
    fields: { a: 'f32', b: ['u8', 13] },
    leaves: leaves([
      ['a', 0, 'f32'],
      ['b[0]', 4, 'u8'],
      ['b[6]', 10, 'u8'],
      ['b[12]', 16, 'u8']
    ])
  },
  {
    name: 'S24',
    size: 24,
    scalar: null,
    fields: { h: 'u16', v: ['f32', 3], n: { p: 'i8', q: 'u32' } },
    leaves: leaves([
      ['h', 0, 'u16'],
      ['v[0]', 4, 'f32'],
      ['v[1]', 8, 'f32'],
      ['v[2]', 12, 'f32'],
      ['n.p', 16, 'i8'],
      ['n.q', 20, 'u32']
    ])
  },
  {
    name: 'S32',
    size: 32,
    scalar: null,
    fields: { t: 'u8', id: 'i64', pts: [POINT, 3], z: 'f32' },
    leaves: leaves([
      ['t', 0, 'u8'],
      ['id', 8, 'i64'],
      ['pts[0].x', 16, 'i16'],
      ['pts[0].y', 18, 'u8'],
      ['pts[1].x', 20, 'i16'],
      ['pts[2].y', 26, 'u8'],
      ['z', 28, 'f32']
    ])
  }
]

export const TYPES: readonly ElemType[] = [
  ...TYPED.map(([name, scalar]) => ({ name, size: SCALAR_SIZE[scalar], scalar, leaves: [], fields: null })),
  ...STRUCTS
]

export function typeNamed(name: string): ElemType {
  const type = TYPES.find((t) => t.name === name)
  if (type === undefined) throw new Error(`fuzz: unknown element type ${name}`)
  return type
}

/** A struct field's nested types are given as plain objects above; `struct` makes the real ones. */
export function structFields(fields: unknown, struct: (f: any) => unknown): unknown {
  const out: Record<string, unknown> = {}
  for (const [name, t] of Object.entries(fields as Record<string, unknown>)) {
    if (typeof t === 'string') out[name] = t
    else if (Array.isArray(t)) out[name] = [typeof t[0] === 'string' ? t[0] : struct(structFields(t[0], struct)), t[1]]
    else out[name] = struct(structFields(t, struct))
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Values: kept as text in the ops, so that -0 and bigints survive JSON ("-0", "5n").

export type Value = number | bigint

export function valueText(v: Value): string {
  if (typeof v === 'bigint') return `${v}n`
  return Object.is(v, -0) ? '-0' : String(v)
}

export function parseValue(text: string): Value {
  return text.endsWith('n') ? BigInt(text.slice(0, -1)) : Number(text)
}

/** The little-endian bytes a typed-array element setter stores for `value` (the engine's conversion). */
export function typedBytes(scalar: Scalar, value: Value): Uint8Array {
  const Ctor = {
    i8: Int8Array,
    u8: Uint8Array,
    c8: Uint8ClampedArray,
    i16: Int16Array,
    u16: Uint16Array,
    i32: Int32Array,
    u32: Uint32Array,
    f32: Float32Array,
    f64: Float64Array,
    i64: BigInt64Array,
    u64: BigUint64Array
  }[scalar]
  const one = new Ctor(1)
  ;(one as unknown as Value[])[0] = value
  return new Uint8Array(one.buffer)
}

/** The bytes a struct field's DataView setter stores (little-endian, as API.md requires). */
export function fieldBytes(scalar: Scalar, value: Value): Uint8Array {
  const out = new Uint8Array(SCALAR_SIZE[scalar])
  const dv = new DataView(out.buffer)
  switch (scalar) {
    case 'i8':
      dv.setInt8(0, value as number)
      break
    case 'u8':
    case 'c8':
      dv.setUint8(0, value as number)
      break
    case 'i16':
      dv.setInt16(0, value as number, true)
      break
    case 'u16':
      dv.setUint16(0, value as number, true)
      break
    case 'i32':
      dv.setInt32(0, value as number, true)
      break
    case 'u32':
      dv.setUint32(0, value as number, true)
      break
    case 'f32':
      dv.setFloat32(0, value as number, true)
      break
    case 'f64':
      dv.setFloat64(0, value as number, true)
      break
    case 'i64':
      dv.setBigInt64(0, value as bigint, true)
      break
    case 'u64':
      dv.setBigUint64(0, value as bigint, true)
      break
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Operations. Files are 0 and 1; views, kept records and syncAsync promises are named by ids given
// when the sequence is made, so that an op whose view was never made (shrinking dropped it, or the
// call failed) is skipped, identically by the model and the executor.

export type Advice = 'normal' | 'sequential' | 'random' | 'willneed' | 'dontneed'

export type Op =
  /** fs.writeFileSync: the file becomes `size` bytes of bytes(seed) */
  | { k: 'fsInit'; f: number; size: number; seed: number }
  /** fs.writeSync of `len` bytes of bytes(seed) at `pos` */
  | { k: 'fsWrite'; f: number; pos: number; len: number; seed: number }
  | { k: 'truncate'; f: number; size: number }
  | { k: 'create'; f: number; count: number; type: string; id: number; data?: { len: number; seed: number } }
  /** byFd: through a descriptor (fs.openSync), closed again at once, under the live view */
  | { k: 'open'; f: number; type: string; mode: 'r' | 'rw'; offset?: number; length?: number; id: number; byFd?: true }
  /** view[index] = value (typed views) */
  | { k: 'set'; v: number; index: number; value: string }
  /** view.fill(value, start, end) (typed views) */
  | { k: 'fill'; v: number; value: string; start: number; end: number }
  /** view.at(index).<path> = value (struct views) */
  | { k: 'field'; v: number; index: number; path: string; value: string }
  /** r = view.at(index), kept for later writes (struct views) */
  | { k: 'keep'; v: number; index: number; r: number }
  /** r.<path> = value, through a record kept earlier (its view may be closed by now) */
  | { k: 'rfield'; r: number; path: string; value: string }
  /** durable false: visible to every reader, not waited for the disk (the same to the models) */
  | { k: 'sync'; v: number; offset?: number; length?: number; durable?: false }
  /** p = syncAsync(view, ...), not awaited until the end of the sequence */
  | { k: 'syncAsync'; v: number; offset?: number; length?: number; p: number; durable?: false }
  | { k: 'resize'; v: number; count: number; id: number }
  | { k: 'advise'; v: number; advice: Advice }
  | { k: 'close'; v: number }
  /** lets the event loop turn (pending syncAsync work may complete) */
  | { k: 'tick' }

export type OpKind = Op['k']

/** A sequence as saved and replayed. */
export interface Sequence {
  seed: number | null
  oneWriter: boolean
  ops: Op[]
}

// ---------------------------------------------------------------------------------------------

/** mulberry32: small, fast, and the same in every runtime (sequences must not use Math.random). */
export class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** A uint32. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.next() / 4294967296) * n)
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.next() / 4294967296 < p
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T
  }
}

/**
 * Deterministic file contents: even seeds draw from a four-byte alphabet (so that written values
 * often equal what is there already, which is where write-back bugs hide), odd seeds from all bytes.
 */
export function seededBytes(len: number, seed: number): Uint8Array {
  const rng = new Rng(seed ^ 0x5bd1e995)
  const out = new Uint8Array(len)
  const mask = seed % 2 === 0 ? 3 : 255
  for (let i = 0; i < len; i++) out[i] = rng.next() & mask
  return out
}
