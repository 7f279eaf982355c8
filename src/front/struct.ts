// C structs over mapped bytes. `struct(fields)` lays fields out as a C compiler does on x86-64 and
// aarch64 (natural alignment, padding, trailing padding; little-endian). A record is a small object
// { view, base } whose prototype holds one accessor per field, reading and writing through a DataView;
// struct-kit.ts makes those classes, once per struct type (why: see there).

import { closedError, describe } from './errors.js'
import { BASE, COUNT, VIEW, newKit } from './struct-kit.js'
import type {
  Accessor,
  Accessors,
  ArrayClass,
  ArrayState,
  RecordClass,
  RecordState,
  ScalarName,
  TypedArrayClass
} from './struct-kit.js'

export type { ScalarName } from './struct-kit.js'

export type ElementType = ScalarName | StructType
export type FieldType = ElementType | readonly [ElementType, number]
export type Fields = { readonly [name: string]: FieldType }

type TypedArrayOf<S extends ScalarName> = {
  i8: Int8Array
  u8: Uint8Array
  i16: Int16Array
  u16: Uint16Array
  i32: Int32Array
  u32: Uint32Array
  i64: BigInt64Array
  u64: BigUint64Array
  f32: Float32Array
  f64: Float64Array
}[S]

/** What reading an element of this type gives. */
export type ValueOf<T> = T extends 'i64' | 'u64'
  ? bigint
  : T extends ScalarName
    ? number
    : T extends StructType<infer F>
      ? StructRecord<F>
      : never

type FieldValue<T> = T extends readonly [infer E, number]
  ? E extends ScalarName
    ? TypedArrayOf<E>
    : E extends StructType<infer F>
      ? StructArray<F>
      : never
  : ValueOf<T>

/**
 * One struct in the mapped bytes: its properties read and write those bytes directly. Assigning a
 * name that is not a field throws a TypeError; `JSON.stringify` and `util.inspect` show the values.
 */
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

const SCALARS: { readonly [K in ScalarName]: { readonly size: number; readonly array: TypedArrayClass } } = {
  i8: { size: 1, array: Int8Array },
  u8: { size: 1, array: Uint8Array },
  i16: { size: 2, array: Int16Array },
  u16: { size: 2, array: Uint16Array },
  i32: { size: 4, array: Int32Array },
  u32: { size: 4, array: Uint32Array },
  i64: { size: 8, array: BigInt64Array },
  u64: { size: 8, array: BigUint64Array },
  f32: { size: 4, array: Float32Array },
  f64: { size: 8, array: Float64Array }
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
    Object.defineProperty(globalThis, MADE, {
      value: new WeakSet(),
      enumerable: false,
      configurable: false,
      writable: false
    })
  }
  return holder[MADE] as WeakSet<object>
})()

// On a record prototype: its struct type (for toJSON, inspect and the unknown-name message).
const TYPE_KEY = Symbol('mmapfile.type')

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
  /** @internal the StructArray class of this type */
  readonly array: new (view: DataView, base: number, count: number) => StructArray<F>
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
  throw new TypeError(
    `mmapfile.struct: field ${where} has an unknown type, ${describe(type)}; ` +
      `use one of ${Object.keys(SCALARS).join(' ')}, a struct type or [elementType, count]`
  )
}

// Integer-like keys (array indices) come first in any object, whatever the order they were written in,
// so such a field would silently move to the front of the struct.
const INTEGER_KEY = /^(?:0|[1-9][0-9]*)$/

function checkNames(fields: object): string[] {
  if (Object.getOwnPropertySymbols(fields).length > 0) {
    throw new TypeError('mmapfile.struct: field names must be strings, not symbols')
  }
  const names = Object.keys(fields)
  const integer = names.find((name) => INTEGER_KEY.test(name))
  if (integer !== undefined) {
    throw new TypeError(
      `mmapfile.struct: field name '${integer}' is an integer, which JavaScript puts before ` +
        'the other keys of an object whatever the order they are written in; name the field with a letter first'
    )
  }
  return names
}

/**
 * Describes a C struct. `fields` is an ordered object of field name to a scalar name, a nested
 * struct type or `[elementType, count]` for a fixed array.
 */
export function struct<const F extends Fields>(fields: F): StructType<F> {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new TypeError('mmapfile.struct: fields must be an object of field name to type')
  }
  const names = checkNames(fields)
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
      if (typeof count !== 'number')
        throw new TypeError(`mmapfile.struct: field ${name}'s count must be a number, got ${describe(count)}`)
      if (!Number.isSafeInteger(count) || count < 1) {
        throw new RangeError(`mmapfile.struct: field ${name}'s count must be a whole number >= 1, got ${count}`)
      }
    }
    const layout = elementLayout(element, name)
    const offset = alignUp(end, layout.alignment)
    layouts.push(Object.freeze({ name, type: type as FieldType, offset, byteLength: layout.size * count }))
    end = offset + layout.size * count
    alignment = Math.max(alignment, layout.alignment)
  }
  const byteLength = alignUp(end, alignment)
  const offsets = new Map(layouts.map((f) => [f.name, f.offset]))
  const { Record, Elements, accessors } = newKit(
    VIEW,
    BASE,
    COUNT,
    RECORD_PROTO,
    STRUCT_ARRAY_PROTO,
    ITERATOR_PROTO,
    byteLength,
    fieldError,
    wholeFieldAssignment
  )
  const type: StructType<F> = Object.freeze({
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
    record: Record,
    array: Elements as unknown as StructType<F>['array']
  })
  Object.defineProperty(Record.prototype, TYPE_KEY, { value: type })
  Object.defineProperty(Elements.prototype, 'type', { value: type })
  for (const field of layouts) Object.defineProperty(Record.prototype, field.name, fieldAccessor(accessors, field))
  made.add(type)
  return type
}

function fieldAccessor(accessors: Accessors, { name, type, offset }: FieldLayout): PropertyDescriptor {
  let descriptor: Accessor
  if (typeof type === 'string') descriptor = accessors[type as ScalarName](offset, name)
  else if (isStructType(type)) descriptor = accessors.record(offset, name, type.record)
  else if (isStructType(type[0]))
    descriptor = accessors.records(offset, name, type[0].array as unknown as ArrayClass, type[1])
  else descriptor = accessors.typed(offset, name, SCALARS[type[0] as ScalarName].array, type[1])
  return { ...descriptor, enumerable: true, configurable: false }
}

/** Why touching a field failed: the view was closed (its buffer detached), or what the DataView said. */
function fieldError(view: unknown, error: unknown, name: string): unknown {
  return view instanceof DataView && view.buffer.byteLength === 0 ? closedError(`record.${name}`) : error
}

function wholeFieldAssignment(name: string): never {
  throw new TypeError(`mmapfile: cannot assign the whole field ${name}; assign its members`)
}

// --- what every record and StructArray shares

const INSPECT = Symbol.for('nodejs.util.inspect.custom')
type Inspect = (value: unknown, options: object) => string
type TypedRecord = RecordState & { [TYPE_KEY]: StructType }

/** A record's values as a plain object: nested records as objects, arrays as arrays; for JSON, bigints as strings. */
function plainRecord(record: TypedRecord, json: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const { name } of record[TYPE_KEY].fields)
    out[name] = plainValue((record as unknown as Record<string, unknown>)[name], json)
  return out
}

function plainValue(value: unknown, json: boolean): unknown {
  if (typeof value === 'bigint') return json ? value.toString() : value
  if (typeof value !== 'object' || value === null) return value
  if (value instanceof StructArray)
    return Array.from(value as StructArray, (record) => plainRecord(record as unknown as TypedRecord, json))
  if (ArrayBuffer.isView(value))
    return json ? Array.from(value as unknown as ArrayLike<unknown>, (x) => plainValue(x, json)) : value
  return plainRecord(value as TypedRecord, json)
}

function isClosed(state: RecordState): boolean {
  return state[VIEW].buffer.byteLength === 0
}

// Records' common prototype. Behind it, a Proxy whose `set` refuses unknown names: a record made
// non-extensible one by one (Object.preventExtensions) costs a call into the runtime per record and
// keeps V8 from removing it. The slots for the record's state sit in front of the Proxy, so that a
// record's own constructor never reaches it.
const GUARD: object = new Proxy(Object.prototype, {
  set(_target, key, _value, receiver: { [TYPE_KEY]?: StructType } | undefined) {
    const fields = receiver?.[TYPE_KEY]?.fields.map((f) => f.name).join(', ') ?? ''
    throw new TypeError(`mmapfile: a record has no field ${String(key)} (its fields: ${fields})`)
  }
})
const RECORD_PROTO: object = Object.create(GUARD, {
  [VIEW]: { value: undefined, writable: true },
  [BASE]: { value: 0, writable: true },
  toJSON: {
    value(this: TypedRecord) {
      return plainRecord(this, true)
    }
  },
  [INSPECT]: {
    value(this: TypedRecord) {
      return isClosed(this) ? '[record of a closed view]' : plainRecord(this, false)
    }
  }
})

const ITERATOR_PROTO: object = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()))

/** An array of structs over mapped bytes; `at(i)` gives a record that reads and writes them. */
export interface StructArray<F extends Fields = Fields> extends Iterable<StructRecord<F>> {
  /** Number of structs; 0 once the mapping is closed. */
  readonly length: number
  /** The record at `index` (negative counts from the end), or undefined out of range. */
  at(index: number): StructRecord<F> | undefined
  [Symbol.iterator](): IterableIterator<StructRecord<F>>
}

// Every StructArray is made by its struct type's own class (see kit), whose prototype inherits from
// this one: `new StructArray(...)` hands back such an instance, so that instanceof holds.
export class StructArray<F extends Fields = Fields> {
  declare readonly type: StructType<F>

  constructor(type: StructType<F>, buffer: ArrayBufferLike, byteOffset: number, length: number) {
    if (!isStructType(type))
      throw new TypeError(`mmapfile: StructArray needs a struct type from mmapfile.struct(), got ${describe(type)}`)
    return new type.array(new DataView(buffer, byteOffset, length * type.byteLength), 0, length) as StructArray<F>
  }

  get buffer(): ArrayBufferLike {
    return (this as unknown as ArrayState)[VIEW].buffer
  }

  get byteOffset(): number {
    const state = this as unknown as ArrayState
    return isClosed(state) ? 0 : state[VIEW].byteOffset + state[BASE]
  }

  get byteLength(): number {
    return this.length * this.type.byteLength
  }

  /** The records as plain objects (JSON.stringify calls this). */
  toJSON(): Array<Record<string, unknown>> {
    return plainValue(this, true) as Array<Record<string, unknown>>
  }

  [INSPECT](depth: number, options: { maxArrayLength?: number | null }, inspect: Inspect): string {
    if (depth < 0) return `[StructArray(${this.length})]`
    const shown = Math.min(this.length, options.maxArrayLength ?? 100)
    const records: unknown[] = []
    for (let i = 0; i < shown; i++) records.push(plainRecord(this.at(i) as unknown as TypedRecord, false))
    const more = this.length > shown ? ` ... ${this.length - shown} more` : ''
    return `StructArray(${this.length}) ${inspect(records, options)}${more}`
  }

  get [Symbol.toStringTag](): string {
    return 'StructArray'
  }
}
const STRUCT_ARRAY_PROTO: object = StructArray.prototype
