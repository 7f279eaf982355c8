// What runs per element of a struct view: the record and StructArray classes of one struct type,
// and its field accessors. struct.ts lays the types out; this file makes their records fast.
//
// A loop over records must cost about what a DataView loop over the same bytes costs, so V8
// must inline the accessors and remove each record (and each iterator result) by escape analysis. It
// does that only where every property access involved has seen one object shape, and it keeps that
// type feedback per function *source*: code that every struct type shares sees the records of all of
// them. So the code that runs per element, `kit` below, is compiled once per struct type from its own
// source text (new Function), which gives each struct type its own feedback. Measured with
// `RECORDS_OTHER_TYPES=8 node --expose-gc bench/records.mjs` (for-of over 1 Mi records, eight other
// struct types in use): 1.3x a DataView loop compiled per type, 38x with one shared kit (the same run with
// RECORDS_NODE_FLAGS=--disallow-code-generation-from-strings). Where a runtime forbids code from strings
// (a Content-Security-Policy without 'unsafe-eval', that node flag), `kit` itself serves every type: the
// same behaviour, fast while a program uses a few struct types.

// The state of records, StructArrays and their iterators, under keys that no field name can take.
export const VIEW = Symbol('mmapfile.view') // the DataView the bytes are read through
export const BASE = Symbol('mmapfile.base') // where the record (or the first element) starts in that DataView
export const COUNT = Symbol('mmapfile.count') // elements of a StructArray; an iterator's end offset
// kit takes the keys as parameters (it is compiled apart from this module) under the same names
type ViewKey = typeof VIEW
type BaseKey = typeof BASE
type CountKey = typeof COUNT

export interface RecordState {
  [VIEW]: DataView
  [BASE]: number
}
export interface ArrayState extends RecordState {
  [COUNT]: number
}
export type RecordClass = new (view: DataView, base: number) => RecordState
export type ArrayClass = new (view: DataView, base: number, count: number) => ArrayState
export type TypedArrayClass = new (
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number
) => ArrayLike<number | bigint>

export interface Accessor {
  get(this: RecordState): unknown
  set(this: RecordState, value: never): void
}
/** The scalar field types of struct(), each with its own accessor pair. */
export type ScalarName = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64'
export type Accessors = { readonly [K in ScalarName]: (at: number, name: string) => Accessor } & {
  readonly record: (at: number, name: string, Nested: RecordClass) => Accessor
  readonly records: (at: number, name: string, Nested: ArrayClass, count: number) => Accessor
  readonly typed: (at: number, name: string, Typed: TypedArrayClass, count: number) => Accessor
}

type Fail = (view: unknown, error: unknown, name: string) => unknown
type ScalarAccessors = { readonly [K in ScalarName]: (at: number, name: string) => Accessor }
type RecordsClass = new (view: DataView, at: number, end: number) => ArrayState & Iterator<RecordState>

/**
 * The record class, the StructArray class and the field accessors of one struct type. `kit` and the
 * functions it calls (KIT_PARTS) use only their parameters, each other and the globals of the language:
 * their source text is compiled again for each type, outside this module (see newKit). `fail` turns an
 * error from the DataView into the closed-view error where the view was closed; `whole` refuses the
 * assignment of a whole nested or array field.
 */
function kit(
  VIEW: ViewKey,
  BASE: BaseKey,
  COUNT: CountKey,
  recordProto: object,
  arrayProto: object,
  iteratorProto: object,
  size: number,
  fail: Fail,
  whole: (name: string) => never
) {
  const { Record, Elements, Records } = kitClasses(VIEW, BASE, COUNT, recordProto, arrayProto, iteratorProto, size)
  const accessors: Accessors = { ...kitScalars(VIEW, BASE, fail), ...kitCompounds(VIEW, BASE, fail, whole) }
  // One object of each shape this kit makes, kept for as long as the type lives. V8 holds the shapes
  // a constructor's stores lead to only weakly: when escape analysis has removed every record, a full GC
  // frees them, the optimized loops are thrown away, and their next versions ran 3x slower (for-of in
  // bench/records.mjs, which forces a GC before every round).
  const empty = new DataView(new ArrayBuffer(8))
  const iterator = new Records(empty, 0, 0)
  const shapes = [new Record(empty, 0), new Elements(empty, 0, 0), iterator, iterator.next()]
  Object.defineProperty(Record, 'shapes', { value: shapes })
  return { Record, Elements, accessors }
}

/** The record class, the StructArray class and the StructArray iterator class of one struct type. */
function kitClasses(
  VIEW: ViewKey,
  BASE: BaseKey,
  COUNT: CountKey,
  recordProto: object,
  arrayProto: object,
  iteratorProto: object,
  size: number
) {
  // Plain functions, not classes: V8 does not remove a class instance made inside a for-of loop.
  const Record = function (this: RecordState, view: DataView, base: number) {
    this[VIEW] = view
    this[BASE] = base
  } as unknown as RecordClass
  Record.prototype = Object.create(recordProto)

  const Elements = function (this: ArrayState, view: DataView, base: number, count: number) {
    this[VIEW] = view
    this[BASE] = base
    this[COUNT] = count
  } as unknown as ArrayClass
  // A closed view's buffer is detached, and reading from it throws. A one-byte read is the check V8
  // keeps cheap here: asking for the buffer's byteLength (not inlined), or for the DataView's inside a
  // try, kept V8 from removing the records of an at() loop, which then ran 3 to 10 times slower.
  const lengthOf = (array: ArrayState): number => {
    const count = array[COUNT]
    if (count !== 0) {
      try {
        array[VIEW].getUint8(array[BASE])
      } catch {
        return 0
      }
    }
    return count
  }
  Elements.prototype = Object.create(arrayProto, {
    length: {
      get(this: ArrayState) {
        return lengthOf(this)
      }
    },
    at: {
      value(this: ArrayState, index: number) {
        let i = index
        if (typeof i !== 'number' || (i | 0) !== i) i = Math.trunc(Number(i)) || 0
        const length = lengthOf(this)
        if (i < 0) i += length
        // The record on the taken branch: V8 keeps no record alive through a join of branches.
        if (i >= 0 && i < length) return new Record(this[VIEW], this[BASE] + i * size)
        return undefined
      }
    },
    [Symbol.iterator]: {
      value(this: ArrayState) {
        const start = this[BASE]
        return new Records(this[VIEW], start, start + lengthOf(this) * size)
      }
    }
  })

  const Records = function (this: ArrayState, view: DataView, at: number, end: number) {
    this[VIEW] = view
    this[BASE] = at
    this[COUNT] = end
  } as unknown as RecordsClass
  Records.prototype = Object.create(iteratorProto, {
    next: {
      value(this: ArrayState) {
        const at = this[BASE]
        const done = at >= this[COUNT]
        if (!done) this[BASE] = at + size
        // A record even when done (for-of never reads it): one result shape, so V8 can remove both.
        return { done, value: new Record(this[VIEW], at) }
      }
    },
    [Symbol.iterator]: {
      value(this: ArrayState) {
        return this
      }
    }
  })
  return { Record, Elements, Records }
}

/** One accessor pair per scalar type, each with its own DataView call, so that each stays monomorphic. */
function kitScalars(VIEW: ViewKey, BASE: BaseKey, fail: Fail): ScalarAccessors {
  // A table, one accessor a line: it reads (and diffs) better than prettier's 180 lines of it.
  // prettier-ignore
  return {
    i8: (at, name) => ({
      get() { const v = this[VIEW]; try { return v.getInt8(this[BASE] + at) } catch (e) { throw fail(v, e, name) } },
      set(x: number) { const v = this[VIEW]; try { v.setInt8(this[BASE] + at, x) } catch (e) { throw fail(v, e, name) } }
    }),
    u8: (at, name) => ({
      get() { const v = this[VIEW]; try { return v.getUint8(this[BASE] + at) } catch (e) { throw fail(v, e, name) } },
      set(x: number) { const v = this[VIEW]; try { v.setUint8(this[BASE] + at, x) } catch (e) { throw fail(v, e, name) } }
    }),
    i16: (at, name) => ({
      get() { const v = this[VIEW]; try { return v.getInt16(this[BASE] + at, true) } catch (e) { throw fail(v, e, name) } },
      set(x: number) { const v = this[VIEW]; try { v.setInt16(this[BASE] + at, x, true) } catch (e) { throw fail(v, e, name) } }
    }),
    u16: (at, name) => ({
      get() { const v = this[VIEW]; try { return v.getUint16(this[BASE] + at, true) } catch (e) { throw fail(v, e, name) } },
      set(x: number) { const v = this[VIEW]; try { v.setUint16(this[BASE] + at, x, true) } catch (e) { throw fail(v, e, name) } }
    }),
    i32: (at, name) => ({
      get() { const v = this[VIEW]; try { return v.getInt32(this[BASE] + at, true) } catch (e) { throw fail(v, e, name) } },
      set(x: number) { const v = this[VIEW]; try { v.setInt32(this[BASE] + at, x, true) } catch (e) { throw fail(v, e, name) } }
    }),
    u32: (at, name) => ({
      get() { const v = this[VIEW]; try { return v.getUint32(this[BASE] + at, true) } catch (e) { throw fail(v, e, name) } },
      set(x: number) { const v = this[VIEW]; try { v.setUint32(this[BASE] + at, x, true) } catch (e) { throw fail(v, e, name) } }
    }),
    i64: (at, name) => ({
      get() { const v = this[VIEW]; try { return v.getBigInt64(this[BASE] + at, true) } catch (e) { throw fail(v, e, name) } },
      set(x: bigint) { const v = this[VIEW]; try { v.setBigInt64(this[BASE] + at, x, true) } catch (e) { throw fail(v, e, name) } }
    }),
    u64: (at, name) => ({
      get() { const v = this[VIEW]; try { return v.getBigUint64(this[BASE] + at, true) } catch (e) { throw fail(v, e, name) } },
      set(x: bigint) { const v = this[VIEW]; try { v.setBigUint64(this[BASE] + at, x, true) } catch (e) { throw fail(v, e, name) } }
    }),
    f32: (at, name) => ({
      get() { const v = this[VIEW]; try { return v.getFloat32(this[BASE] + at, true) } catch (e) { throw fail(v, e, name) } },
      set(x: number) { const v = this[VIEW]; try { v.setFloat32(this[BASE] + at, x, true) } catch (e) { throw fail(v, e, name) } }
    }),
    f64: (at, name) => ({
      get() { const v = this[VIEW]; try { return v.getFloat64(this[BASE] + at, true) } catch (e) { throw fail(v, e, name) } },
      set(x: number) { const v = this[VIEW]; try { v.setFloat64(this[BASE] + at, x, true) } catch (e) { throw fail(v, e, name) } }
    })
  }
}

// A nested struct or an array of structs shares the record's DataView: made in constant time. The
// one-byte read finds a closed view before a record over it is handed out.
function kitCompounds(
  VIEW: ViewKey,
  BASE: BaseKey,
  fail: Fail,
  whole: (name: string) => never
): Omit<Accessors, ScalarName> {
  return {
    record: (at, name, Nested) => ({
      get() {
        const v = this[VIEW]
        const base = this[BASE] + at
        try {
          v.getUint8(base)
        } catch (e) {
          throw fail(v, e, name)
        }
        return new Nested(v, base)
      },
      set() {
        whole(name)
      }
    }),
    records: (at, name, Nested, count) => ({
      get() {
        const v = this[VIEW]
        const base = this[BASE] + at
        try {
          v.getUint8(base)
        } catch (e) {
          throw fail(v, e, name)
        }
        return new Nested(v, base, count)
      },
      set() {
        whole(name)
      }
    }),
    typed: (at, name, Typed, count) => ({
      get() {
        const v = this[VIEW]
        try {
          return new Typed(v.buffer, v.byteOffset + this[BASE] + at, count)
        } catch (e) {
          throw fail(v, e, name)
        }
      },
      set() {
        whole(name)
      }
    })
  }
}

// What kit calls, compiled with it: each under the name the code (bundled or not) calls it by.
const KIT_PARTS: ReadonlyArray<(...args: never[]) => unknown> = [kitClasses, kitScalars, kitCompounds]

// The kit of one struct type: `kit` and its parts compiled again from their own text, or `kit` itself
// where code from strings is refused (asked once: a refused attempt may be reported to the page, as a
// CSP violation) or where the text does not run on its own (a bundler that wraps functions in helpers,
// as esbuild's keepNames does).
let compile = true
let compiled = 0
const sourceOf = Function.prototype.toString
export function newKit(...args: Parameters<typeof kit>): ReturnType<typeof kit> {
  if (compile) {
    try {
      // A text of its own each time: V8 caches what it compiled from the same text, and the kits would
      // share their code again (a [Vec3, 10000] field read 6x slower with eight other struct types).
      const parts = KIT_PARTS.map((part) => `const ${part.name} = (${sourceOf.call(part)})\n`).join('')
      const source = `"use strict"; // kit ${++compiled}\n${parts}return (${sourceOf.call(kit)})`
      return (new Function(source)() as typeof kit)(...args)
    } catch {
      compile = false
    }
  }
  return kit(...args)
}
