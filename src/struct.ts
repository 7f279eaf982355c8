// C structs over mapped bytes. `struct(fields)` lays fields out as a C compiler does on x86-64 and
// aarch64 (natural alignment, padding, trailing padding; little-endian). Records are instances of
// a class made once per struct type, whose accessors read and write the bytes through a DataView:
// no Proxy and no per-access lookup, so V8 can inline them.

export type ScalarName = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64'
export type ElementType = ScalarName | StructType
export type FieldType = ElementType | readonly [ElementType, number]
export type Fields = { readonly [name: string]: FieldType }

type TypedArrayOf<S extends ScalarName> = {
  i8: Int8Array; u8: Uint8Array; i16: Int16Array; u16: Uint16Array; i32: Int32Array; u32: Uint32Array
  i64: BigInt64Array; u64: BigUint64Array; f32: Float32Array; f64: Float64Array
}[S]

/** What reading an element of this type gives. */
export type ValueOf<T> =
  T extends 'i64' | 'u64' ? bigint
  : T extends ScalarName ? number
  : T extends StructType<infer F> ? StructRecord<F>
  : never

type FieldValue<T> =
  T extends readonly [infer E, number]
    ? (E extends ScalarName ? TypedArrayOf<E> : E extends StructType<infer F> ? readonly StructRecord<F>[] : never)
    : ValueOf<T>

/** One struct in the mapped bytes: its properties read and write those bytes directly. */
export type StructRecord<F extends Fields = Fields> = {
  -readonly [K in keyof F as F[K] extends ScalarName ? K : never]: FieldValue<F[K]>
} & {
  readonly [K in keyof F as F[K] extends ScalarName ? never : K]: FieldValue<F[K]>
}

export interface FieldLayout {
  readonly name: string
  readonly type: FieldType
  readonly offset: number
  readonly byteLength: number
}

interface Scalar {
  readonly size: number
  readonly get: (view: DataView, at: number) => number | bigint
  readonly set: (view: DataView, at: number, value: never) => void
  readonly array: new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView
}

const SCALARS: { readonly [K in ScalarName]: Scalar } = {
  i8: { size: 1, get: (v, at) => v.getInt8(at), set: (v, at, x: number) => v.setInt8(at, x), array: Int8Array },
  u8: { size: 1, get: (v, at) => v.getUint8(at), set: (v, at, x: number) => v.setUint8(at, x), array: Uint8Array },
  i16: { size: 2, get: (v, at) => v.getInt16(at, true), set: (v, at, x: number) => v.setInt16(at, x, true), array: Int16Array },
  u16: { size: 2, get: (v, at) => v.getUint16(at, true), set: (v, at, x: number) => v.setUint16(at, x, true), array: Uint16Array },
  i32: { size: 4, get: (v, at) => v.getInt32(at, true), set: (v, at, x: number) => v.setInt32(at, x, true), array: Int32Array },
  u32: { size: 4, get: (v, at) => v.getUint32(at, true), set: (v, at, x: number) => v.setUint32(at, x, true), array: Uint32Array },
  i64: { size: 8, get: (v, at) => v.getBigInt64(at, true), set: (v, at, x: bigint) => v.setBigInt64(at, x, true), array: BigInt64Array },
  u64: { size: 8, get: (v, at) => v.getBigUint64(at, true), set: (v, at, x: bigint) => v.setBigUint64(at, x, true), array: BigUint64Array },
  f32: { size: 4, get: (v, at) => v.getFloat32(at, true), set: (v, at, x: number) => v.setFloat32(at, x, true), array: Float32Array },
  f64: { size: 8, get: (v, at) => v.getFloat64(at, true), set: (v, at, x: number) => v.setFloat64(at, x, true), array: Float64Array }
}

// A brand for the type system, and a realm-wide set of the struct types struct() made, for the checks:
// not instanceof, since the ESM and CommonJS builds each carry their own copy of this module and a struct
// made with one must work with the other; and not the brand, since anyone can forge it (a Proxy around a
// real type, or an object with the brand and BYTES_PER_ELEMENT 0.5), and the front sizes files by it.
const BRAND = Symbol.for('mmapfile.struct')
const MADE = Symbol.for('mmapfile.structTypes')
const made: WeakSet<object> = (() => {
  const holder = globalThis as { [MADE]?: WeakSet<object> }
  if (holder[MADE] === undefined) {
    Object.defineProperty(globalThis, MADE, { value: new WeakSet(), enumerable: false, configurable: false, writable: false })
  }
  return holder[MADE] as WeakSet<object>
})()
const VIEW = Symbol('view')
const BASE = Symbol('base')

interface RecordBase {
  readonly [VIEW]: DataView
  readonly [BASE]: number
}
type RecordClass = new (view: DataView, base: number) => RecordBase

export interface StructType<F extends Fields = Fields> {
  readonly [BRAND]: true
  /** sizeof: bytes of one element, trailing padding included */
  readonly byteLength: number
  /** the same as byteLength, so that a struct type can stand where a typed-array constructor does */
  readonly BYTES_PER_ELEMENT: number
  /** alignof */
  readonly alignment: number
  /** the fields in declaration order with their offsets (offsetof) */
  readonly fields: readonly FieldLayout[]
  /** offsetof(field) */
  offsetOf(name: keyof F & string): number
  /** @internal the record class */
  readonly record: RecordClass
  /** @internal phantom, for type inference only */
  readonly __fields?: F
}

/** Whether `value` is a struct type that struct() made (in any copy of this module in the realm). */
export function isStructType(value: unknown): value is StructType {
  return typeof value === 'object' && value !== null && made.has(value)
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment
}

function elementLayout(type: unknown, where: string): { size: number; alignment: number } {
  if (typeof type === 'string' && Object.prototype.hasOwnProperty.call(SCALARS, type)) {
    const size = SCALARS[type as ScalarName].size
    return { size, alignment: size }
  }
  if (isStructType(type)) return { size: type.byteLength, alignment: type.alignment }
  throw new TypeError(`mmapfile.struct: field ${where} has an unknown type ${String(type)}; ` +
    `use one of ${Object.keys(SCALARS).join(' ')}, a struct type or [elementType, count]`)
}

/**
 * Describes a C struct. `fields` is an ordered object of field name to a scalar name, a nested
 * struct type or `[elementType, count]` for a fixed array.
 */
export function struct<const F extends Fields>(fields: F): StructType<F> {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new TypeError('mmapfile.struct: fields must be an object of field name to type')
  }
  const names = Object.keys(fields)
  if (names.length === 0) throw new TypeError('mmapfile.struct: a struct needs at least one field')

  const layouts: FieldLayout[] = []
  let end = 0
  let alignment = 1
  for (const name of names) {
    const type: unknown = fields[name]
    let element: unknown = type
    let count = 1
    if (Array.isArray(type)) {
      if (type.length !== 2) throw new TypeError(`mmapfile.struct: field ${name} must be [elementType, count]`)
      element = type[0]
      count = type[1] as number
      if (typeof count !== 'number') throw new TypeError(`mmapfile.struct: field ${name}'s count must be a number`)
      if (!Number.isSafeInteger(count) || count < 1) {
        throw new RangeError(`mmapfile.struct: field ${name}'s count must be a whole number >= 1, got ${count}`)
      }
    }
    const layout = elementLayout(element, name)
    const offset = alignUp(end, layout.alignment)
    layouts.push({ name, type: type as FieldType, offset, byteLength: layout.size * count })
    end = offset + layout.size * count
    alignment = Math.max(alignment, layout.alignment)
  }
  const byteLength = alignUp(end, alignment)
  const record = makeRecordClass(layouts)
  const offsets = new Map(layouts.map((f) => [f.name, f.offset]))
  const type = Object.freeze({
    [BRAND]: true as const,
    byteLength,
    BYTES_PER_ELEMENT: byteLength,
    alignment,
    fields: Object.freeze(layouts),
    offsetOf(name: keyof F & string): number {
      const offset = offsets.get(name)
      if (offset === undefined) throw new TypeError(`mmapfile.struct: no field named ${String(name)}`)
      return offset
    },
    record
  })
  made.add(type)
  return type
}

function wholeFieldAssignment(name: string): never {
  throw new TypeError(`mmapfile: cannot assign the whole field ${name}; assign its members`)
}

function makeRecordClass(layouts: readonly FieldLayout[]): RecordClass {
  class Record implements RecordBase {
    readonly [VIEW]: DataView
    readonly [BASE]: number
    constructor(view: DataView, base: number) {
      this[VIEW] = view
      this[BASE] = base
    }
  }
  for (const { name, type, offset } of layouts) {
    let descriptor: PropertyDescriptor
    if (typeof type === 'string') {
      const scalar = SCALARS[type]
      const set = scalar.set as (view: DataView, at: number, value: unknown) => void
      descriptor = {
        get(this: Record) { return scalar.get(this[VIEW], this[BASE] + offset) },
        set(this: Record, value: unknown) { set(this[VIEW], this[BASE] + offset, value) }
      }
    } else if (isStructType(type)) {
      const Nested = type.record
      descriptor = {
        get(this: Record) { return new Nested(this[VIEW], this[BASE] + offset) },
        set() { wholeFieldAssignment(name) }
      }
    } else {
      const [element, count] = type
      descriptor = {
        get(this: Record) {
          const view = this[VIEW]
          const at = view.byteOffset + this[BASE] + offset
          if (isStructType(element)) {
            // An array-like of records: indexable, unlike a StructArray, and fixed arrays are short.
            const records: RecordBase[] = []
            for (let i = 0; i < count; i++) records.push(new element.record(view, this[BASE] + offset + i * element.byteLength))
            return Object.freeze(records)
          }
          return new SCALARS[element].array(view.buffer, at, count)
        },
        set() { wholeFieldAssignment(name) }
      }
    }
    Object.defineProperty(Record.prototype, name, { ...descriptor, enumerable: true, configurable: false })
  }
  return Record
}

/** An array of structs over mapped bytes; `at(i)` gives a record that reads and writes them. */
export class StructArray<F extends Fields = Fields> implements Iterable<StructRecord<F>> {
  readonly type: StructType<F>
  readonly #bytes: Uint8Array
  readonly #view: DataView
  readonly #length: number

  constructor(type: StructType<F>, buffer: ArrayBufferLike, byteOffset: number, length: number) {
    this.type = type
    this.#length = length
    this.#bytes = new Uint8Array(buffer, byteOffset, length * type.byteLength)
    this.#view = new DataView(buffer, byteOffset, length * type.byteLength)
  }

  /** Number of structs; 0 once the mapping is closed. */
  get length(): number {
    return this.#bytes.byteLength === 0 ? 0 : this.#length
  }

  get buffer(): ArrayBufferLike { return this.#bytes.buffer }
  get byteOffset(): number { return this.#bytes.byteOffset }
  get byteLength(): number { return this.#bytes.byteLength }

  /** The record at `index` (negative counts from the end), or undefined out of range. */
  at(index: number): StructRecord<F> | undefined {
    const length = this.length
    let i = Math.trunc(Number(index)) || 0
    if (i < 0) i += length
    if (i < 0 || i >= length) return undefined
    return new this.type.record(this.#view, i * this.type.byteLength) as unknown as StructRecord<F>
  }

  [Symbol.iterator](): IterableIterator<StructRecord<F>> {
    // A plain iterator rather than a generator, which V8 optimizes less well in for-of loops.
    let i = 0
    const records = this
    return {
      next(): IteratorResult<StructRecord<F>> {
        const record = records.at(i++)
        return record === undefined ? { done: true, value: undefined } : { done: false, value: record }
      },
      [Symbol.iterator]() { return this }
    }
  }

  get [Symbol.toStringTag](): string { return 'StructArray' }
}
