// struct(): C layout (checked against gcc), field values, records, StructArray.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { inspect } from 'node:util'
import type { Ctx } from './ctx'
import { entry } from './ctx'
import { DESCS, SCALARS, byName, compileC, encode, leafValue, leaves } from '../cstruct'
import type { CProgram, Desc, Field, Leaf, Scalar } from '../cstruct'
import {
  allZero,
  assertChildOk,
  bytesOf,
  childPrelude,
  childReport,
  closedError,
  expectThrow,
  fileBytes,
  requires,
  runChild,
  sameBytes,
  tmpDir,
  tmpFile
} from '../helpers'

const RECORDS = 3

let cprog: CProgram | undefined
function c(): CProgram {
  if (cprog === undefined) cprog = compileC(tmpDir, ['Deep', 'Mixed', 'Seed'], RECORDS)
  return cprog
}

/** Builds every struct of DESCS with `api.struct`. */
function buildTypes(api: any): Record<string, any> {
  const types: Record<string, any> = {}
  const spec = (f: Field): any => {
    if (Array.isArray(f)) return [spec(f[0]), f[1]]
    return typeof f === 'string' ? f : types[f.ref]
  }
  for (const d of DESCS) {
    const fields: Record<string, any> = {}
    for (const [name, f] of d.fields) fields[name] = spec(f)
    types[d.name] = api.struct(fields)
  }
  return types
}

// Element i of an array field: `field[i]` for a typed array, `field.at(i)` for a StructArray (API.md:
// made in constant time, so it has no `[i]`).
function step(o: any, k: string | number): any {
  if (typeof k === 'number' && o[k] === undefined && typeof o.at === 'function') return o.at(k)
  return o[k]
}

function getLeaf(rec: any, leaf: Leaf): unknown {
  let o = rec
  for (const k of leaf.js) o = step(o, k)
  return o
}

function setLeaf(rec: any, leaf: Leaf, v: unknown): void {
  let o = rec
  for (const k of leaf.js.slice(0, -1)) o = step(o, k)
  o[leaf.js[leaf.js.length - 1]] = v
}

const leafName = (d: Desc, l: Leaf): string => `${d.name}.${l.c}`

export default function register(ctx: Ctx): void {
  const api: any = ctx.api
  const s = suite(`${ctx.label} struct`)

  s('is a function', () => {
    assert.type(api.struct, 'function')
  })

  // --- errors first
  s('an unknown field type is a TypeError', () => {
    expectThrow(() => api.struct({ a: 'i128' }), { type: TypeError }, "struct({ a: 'i128' })")
    expectThrow(() => api.struct({ a: 'int' }), { type: TypeError }, "struct({ a: 'int' })")
    expectThrow(() => api.struct({ a: Int32Array }), { type: TypeError }, 'struct({ a: Int32Array })')
    expectThrow(() => api.struct({ a: 4 }), { type: TypeError }, 'struct({ a: 4 })')
    expectThrow(
      () => api.struct({ a: { b: 'i32' } }),
      { type: TypeError },
      "struct({ a: { b: 'i32' } }) (a plain object, not a struct type)"
    )
  })

  s('fields that are not an object is a TypeError', () => {
    expectThrow(() => api.struct('i32'), { type: TypeError }, "struct('i32')")
    expectThrow(() => api.struct(null), { type: TypeError }, 'struct(null)')
    expectThrow(() => api.struct(), { type: TypeError }, 'struct()')
  })

  s('a fixed array with a bad count: TypeError for a non-number, RangeError out of domain', () => {
    expectThrow(() => api.struct({ a: ['i32', '3'] }), { type: TypeError }, "struct({ a: ['i32', '3'] })")
    expectThrow(() => api.struct({ a: ['i32', -1] }), { type: RangeError }, "struct({ a: ['i32', -1] })")
    expectThrow(() => api.struct({ a: ['i32', 1.5] }), { type: RangeError }, "struct({ a: ['i32', 1.5] })")
    expectThrow(() => api.struct({ a: ['i32', NaN] }), { type: RangeError }, "struct({ a: ['i32', NaN] })")
    expectThrow(() => api.struct({ a: ['i3', 2] }), { type: TypeError }, "struct({ a: ['i3', 2] })")
  })

  s('a plain object is not a type for create/open/malloc: TypeError', () => {
    const p = tmpFile()
    expectThrow(() => api.create(p, 1, { a: 'i32' }), { type: TypeError }, "create(p, 1, { a: 'i32' })")
    assert.not.ok(fs.existsSync(p), 'the failed create left a file behind')
    expectThrow(() => api.malloc(1, { a: 'i32' }), { type: TypeError }, "malloc(1, { a: 'i32' })")
  })

  s('an integer-like field name (which JavaScript orders first) is a TypeError naming it; symbols too', () => {
    expectThrow(
      () => api.struct({ b: 'u8', 1: 'f64', a: 'u32' }),
      { type: TypeError, message: /'1'/ },
      "struct({ b: 'u8', 1: 'f64', a: 'u32' })"
    )
    expectThrow(() => api.struct({ 0: 'u8' }), { type: TypeError, message: /'0'/ }, "struct({ 0: 'u8' })")
    expectThrow(
      () => api.struct({ a: 'u8', 4294967296: 'u8' }),
      { type: TypeError, message: /'4294967296'/ },
      'struct({ a, 4294967296 })'
    )
    expectThrow(
      () => api.struct({ a: 'u8', [Symbol('s')]: 'u8' }),
      { type: TypeError, message: /symbol/ },
      'struct({ a, [Symbol()] })'
    )
    // Names that only look numeric keep the order they were written in.
    const T = api.struct({ b: 'u8', '01': 'u32', '-1': 'u8', '1.5': 'u16' })
    assert.equal(
      T.fields.map((f: any) => f.name),
      ['b', '01', '-1', '1.5']
    )
    assert.is(T.offsetOf('01'), 4)
  })

  s("an unknown field type's message names the value without printing it whole", () => {
    for (const [what, bad] of [
      ['Float64Array', Float64Array],
      [
        'an arrow function',
        () => {
          return 'the body of a function'
        }
      ],
      ['[Float64Array, 3]', [Float64Array, 3]]
    ] as Array<[string, unknown]>) {
      const e = expectThrow(
        () => api.struct({ a: bad }),
        { type: TypeError, message: /field a/ },
        `struct({ a: ${what} })`
      )
      assert.not.match(
        e.message,
        /native code|the body|[{}]/,
        `struct({ a: ${what} }): the message quotes no source: ${e.message}`
      )
      assert.ok(e.message.length < 200, `struct({ a: ${what} }): a short message: ${e.message}`)
    }
    assert.match(
      expectThrow(() => api.struct({ a: Float64Array }), { type: TypeError }, 'Float64Array').message,
      /Float64Array/
    )
  })

  s('assigning a name that is not a field is a TypeError (sloppy code too); the bytes do not change', () => {
    const Vec = api.struct({ x: 'f32', y: 'f32' })
    const v = api.malloc(2, api.struct({ a: 'i32', pos: Vec, pts: [Vec, 2] }))
    try {
      const r = v.at(1)
      const before = bytesOf(v).slice()
      expectThrow(
        () => {
          r.nope = 1
        },
        { type: TypeError, message: /nope/ },
        'rec.nope = 1'
      )
      expectThrow(
        () => {
          r.A = 1
        },
        { type: TypeError, message: /\bA\b/ },
        'rec.A = 1 (a field name in the wrong case)'
      )
      expectThrow(
        () => {
          r.pos.z = 1
        },
        { type: TypeError, message: /\bz\b/ },
        'rec.pos.z = 1 (a nested record)'
      )
      expectThrow(
        () => {
          r.pts.at(0).z = 1
        },
        { type: TypeError },
        'rec.pts.at(0).z = 1 (an element of an array field)'
      )
      expectThrow(
        () => {
          r[Symbol('s')] = 1
        },
        { type: TypeError },
        'rec[Symbol()] = 1'
      )
      // eslint-disable-next-line no-new-func
      const sloppy = new Function('r', 'r.nope = 1') as (r: unknown) => void
      expectThrow(() => sloppy(r), { type: TypeError }, 'rec.nope = 1 in sloppy-mode code')
      assert.is(r.nope, undefined, 'nothing was added')
      assert.not.ok(Object.prototype.hasOwnProperty.call(r, 'nope'), 'no own property nope')
      sameBytes(bytesOf(v), before, 'bytes after the refused assignments')
      r.a = 5
      r.pos.y = 2.5
      assert.is(v.at(1).a, 5, 'fields still assign')
      assert.is(v.at(1).pos.y, 2.5, 'nested fields still assign')
    } finally {
      api.free(v)
    }
  })

  s(
    'a record of a closed view: reading or writing any field is ERR_MMAPFILE_CLOSED; arrays taken before are empty',
    () => {
      const Vec = api.struct({ x: 'f32', y: 'f32' })
      const T = api.struct({ a: 'i32', big: 'u64', pos: Vec, v: ['f32', 2], pts: [Vec, 3] })
      for (const [kind, make, release] of [
        ['create', () => api.create(tmpFile(), 3, T), (v: any) => api.close(v)],
        ['malloc', () => api.malloc(3, T), (v: any) => api.free(v)]
      ] as Array<[string, () => any, (v: any) => void]>) {
        const v = make()
        const r = v.at(2)
        const pos = r.pos
        const pts = r.pts
        const element = pts.at(1)
        const fromLoop = [...v][1]
        release(v)
        for (const [what, touch] of [
          ['read a', () => r.a],
          [
            'write a',
            () => {
              r.a = 1
            }
          ],
          ['read big (u64)', () => r.big],
          [
            'write big',
            () => {
              r.big = 1n
            }
          ],
          ['read pos (a nested struct)', () => r.pos],
          ['read v (an array of f32)', () => r.v],
          ['read pts (an array of structs)', () => r.pts],
          ['read x of pos taken before', () => pos.x],
          [
            'write x of pos taken before',
            () => {
              pos.x = 1
            }
          ],
          ['read y of an element taken before', () => element.y],
          ['read a of a record from for-of', () => fromLoop.a],
          ['JSON.stringify', () => JSON.stringify(r)]
        ] as Array<[string, () => unknown]>) {
          expectThrow(touch, closedError, `${kind}: ${what}`)
        }
        assert.is(pts.length, 0, `${kind}: an array of structs taken before close has length 0`)
        assert.is(pts.at(0), undefined, `${kind}: and at(0) undefined`)
        assert.equal([...pts], [], `${kind}: and iterates nothing`)
        assert.type(inspect(r), 'string', `${kind}: inspecting a closed record does not throw`)
      }
    }
  )

  s('assigning a whole nested struct or array field is a TypeError; members are assignable', () => {
    const T = buildTypes(api)
    const v = api.create(tmpFile(), 1, T.Deep)
    try {
      const rec = v.at(0)
      const before = bytesOf(v).slice()
      expectThrow(
        () => {
          rec.o = { n: 1 }
        },
        { type: TypeError },
        'rec.o = {...} (nested struct)'
      )
      expectThrow(
        () => {
          rec.o = rec.o
        },
        { type: TypeError },
        'rec.o = rec.o (nested struct)'
      )
      expectThrow(
        () => {
          rec.arr = []
        },
        { type: TypeError },
        'rec.arr = [] (array of structs)'
      )
      expectThrow(
        () => {
          rec.o.pts = []
        },
        { type: TypeError },
        'rec.o.pts = [] (array of structs)'
      )
      expectThrow(
        () => {
          step(rec.arr, 0).v = new Float32Array(3)
        },
        { type: TypeError },
        'rec.arr[0].v = Float32Array (array of scalars)'
      )
      expectThrow(
        () => {
          rec.t = { a: 1n, b: 2 }
        },
        { type: TypeError },
        'rec.t = {...}'
      )
      sameBytes(bytesOf(v), before, 'bytes after the refused assignments')
      rec.o.n = 7
      step(rec.arr, 1).v[2] = 1.5
      assert.is(rec.o.n, 7)
      assert.is(step(rec.arr, 1).v[2], 1.5)
    } finally {
      api.close(v)
    }
  })

  // --- happy path
  s('the seed example: struct({ a: i32, b: f64 }), create, close, open, read back', () => {
    const T = api.struct({ a: 'i32', b: 'f64' })
    assert.is(T.byteLength, 16, 'byteLength')
    const p = tmpFile()
    const v = api.create(p, 1, T)
    assert.is(v.length, 1, 'length')
    assert.is(v.byteLength, 16, 'view byteLength')
    const r = v.at(0)
    r.a = -123456
    r.b = Math.PI
    api.close(v)
    const bytes = fileBytes(p)
    assert.is(bytes.length, 16, 'file size')
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    assert.is(dv.getInt32(0, true), -123456, 'a at offset 0, little-endian')
    assert.is(dv.getFloat64(8, true), Math.PI, 'b at offset 8, little-endian')
    allZero(bytes.subarray(4, 8), 'padding between a and b')
    const w = api.open(p, T)
    assert.is(w.length, 1)
    assert.is(w.at(0).a, -123456)
    assert.is(w.at(0).b, Math.PI)
    api.close(w)
  })

  requires(s, 'posix-tools')('byteLength matches sizeof in C for every struct (gcc)', () => {
    const T = buildTypes(api)
    const layout = c().layout
    for (const d of DESCS) {
      assert.is(T[d.name].byteLength, layout[d.name].size, `struct ${d.name}: byteLength vs sizeof`)
    }
  })

  requires(s, 'posix-tools')('alignment, fields and offsetOf (extras of src/front/struct.ts) agree with gcc', () => {
    const T = buildTypes(api)
    const layout = c().layout
    for (const d of DESCS) {
      const t = T[d.name]
      const ls = leaves(d)
      const cOffset = (name: string): number =>
        layout[d.name].offsets[
          ls.findIndex((l) => l.c === name || l.c.startsWith(`${name}.`) || l.c.startsWith(`${name}[`))
        ]
      assert.is(t.alignment, layout[d.name].align, `struct ${d.name}: alignment vs _Alignof`)
      assert.equal(
        t.fields.map((f: any) => f.name),
        d.fields.map(([n]) => n),
        `struct ${d.name}: fields in order`
      )
      for (const f of t.fields) {
        assert.is(f.offset, cOffset(f.name), `${d.name}.${f.name}: fields[].offset vs offsetof`)
        assert.is(t.offsetOf(f.name), cOffset(f.name), `${d.name}.${f.name}: offsetOf vs offsetof`)
      }
    }
  })

  requires(s, 'posix-tools')('every field sits at its C offset, little-endian, touching no other byte (gcc)', () => {
    const T = buildTypes(api)
    const layout = c().layout
    for (const d of DESCS) {
      const size = layout[d.name].size
      const p = tmpFile(`${d.name}.bin`)
      // two records, so that a field written in record 1 must land at size + offset
      const v = api.create(p, 2, T[d.name])
      try {
        const bytes = bytesOf(v)
        leaves(d).forEach((leaf, j) => {
          for (const k of [0, 1]) {
            const value = leafValue(leaf.type, k, j + 1)
            setLeaf(v.at(k), leaf, value)
            const expected = new Uint8Array(2 * size)
            encode(new DataView(expected.buffer), k * size + layout[d.name].offsets[j], leaf.type, value)
            sameBytes(bytes, expected, `${leafName(d, leaf)} in record ${k} (C offset ${layout[d.name].offsets[j]})`)
            assert.is(getLeaf(v.at(k), leaf), value, `${leafName(d, leaf)} reads back`)
            bytes.fill(0)
          }
        })
      } finally {
        api.close(v)
      }
    }
  })

  s('i64 and u64 read and write as bigint over their whole range; other fields as number', () => {
    const T = api.struct({ a: 'i64', b: 'u64', c: 'i32', d: 'f32', e: 'u8' })
    const v = api.create(tmpFile(), 2, T)
    try {
      const r = v.at(0)
      assert.is(typeof r.a, 'bigint', 'i64 reads a bigint')
      assert.is(typeof r.b, 'bigint', 'u64 reads a bigint')
      assert.is(typeof r.c, 'number', 'i32 reads a number')
      assert.is(typeof r.d, 'number', 'f32 reads a number')
      assert.is(typeof r.e, 'number', 'u8 reads a number')
      for (const x of [-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n, 1234567890123456789n]) {
        r.a = x
        assert.is(r.a, x, `i64 ${x}`)
      }
      for (const x of [0n, 2n ** 64n - 1n, 2n ** 63n, 9876543210987654321n]) {
        r.b = x
        assert.is(r.b, x, `u64 ${x}`)
      }
      r.a = -2n
      const dv = new DataView(v.buffer, v.byteOffset, v.byteLength)
      assert.is(dv.getBigInt64(0, true), -2n, 'i64 bytes')
      r.d = 0.1
      assert.is(r.d, Math.fround(0.1), 'f32 rounds like a Float32Array')
      assert.is(v.at(1).a, 0n, 'the next record is untouched')
    } finally {
      api.close(v)
    }
  })

  s('a fixed array of scalars reads as a typed array over the mapped bytes; writes reach the file', () => {
    const T = api.struct({ tag: 'u8', v: ['f32', 3], big: ['i64', 2], u: ['u16', 5], s: ['i8', 3] })
    const p = tmpFile()
    const view = api.create(p, 2, T)
    const r = view.at(1)
    const cases: Array<[string, string, number]> = [
      ['v', 'Float32Array', 3],
      ['big', 'BigInt64Array', 2],
      ['u', 'Uint16Array', 5],
      ['s', 'Int8Array', 3]
    ]
    for (const [name, cls, n] of cases) {
      const a: any = r[name]
      assert.ok(ArrayBuffer.isView(r[name]), `${name} is a typed array`)
      assert.is(a.constructor.name, cls, `${name}'s class`)
      assert.is(a.length, n, `${name}.length`)
    }
    r.v[0] = 1.25
    r.v[2] = -7.5
    r.big[1] = -(2n ** 62n)
    r.u[4] = 65535
    r.s[0] = -128
    r.tag = 9
    // the same bytes through a fresh record and through the StructArray's bytes
    assert.is(view.at(-1).v[2], -7.5)
    const size = T.byteLength
    assert.is(size, 48, 'byteLength of { u8, f32[3], i64[2], u16[5], i8[3] } (sizeof in C)')
    const dv = new DataView(view.buffer, view.byteOffset, view.byteLength)
    assert.is(dv.getFloat32(size + 4, true), 1.25, 'v[0] at offset 4 of record 1')
    assert.is(dv.getFloat32(size + 12, true), -7.5, 'v[2] at offset 12 of record 1')
    assert.is(dv.getBigInt64(size + 24, true), -(2n ** 62n), 'big[1] at offset 24 of record 1')
    api.close(view)
    const w = api.open(p, T)
    const q = w.at(1)
    assert.equal(Array.from(q.v), [1.25, 0, -7.5])
    assert.equal(Array.from(q.big), [0n, -(2n ** 62n)])
    assert.is(q.u[4], 65535)
    assert.is(q.s[0], -128)
    assert.is(q.tag, 9)
    assert.equal(Array.from(w.at(0).v), [0, 0, 0], 'record 0 untouched')
    api.close(w)
  })

  s("an array-of-structs field is a StructArray over the record's bytes: length, at(i), iteration", () => {
    const T = buildTypes(api)
    const v = api.create(tmpFile(), 1, T.Deep)
    try {
      const r = v.at(0)
      assert.ok(r.o.pts instanceof api.StructArray, 'o.pts is a StructArray')
      assert.is(r.o.pts.length, 3, 'o.pts.length')
      assert.is(r.arr.length, 2, 'arr.length')
      for (let i = 0; i < 3; i++) assert.type(r.o.pts.at(i), 'object', `o.pts.at(${i})`)
      assert.is(r.o.pts.at(3), undefined, 'o.pts.at(3)')
      assert.is(r.o.pts.at(-4), undefined, 'o.pts.at(-4)')
      r.o.pts.at(2).b = -99
      assert.is(r.o.pts.at(-1).b, -99, 'at(-1) is the last')
      assert.equal(
        Array.from(r.o.pts, (x: any) => x.b),
        [0, 0, -99],
        'Array.from(o.pts)'
      )
      const offset = T.Deep.offsetOf('o') + T.Deep.fields.find((f: any) => f.name === 'o').type.offsetOf('pts')
      assert.is(r.o.pts.buffer, v.buffer, 'the same buffer as the view')
      assert.is(r.o.pts.byteOffset, v.byteOffset + offset, 'byteOffset: where the field starts')
      assert.is(r.o.pts.byteLength, 3 * r.o.pts.type.byteLength, 'byteLength')
    } finally {
      api.close(v)
    }
    // A long array: its records are made one at a time, and write where C puts them.
    const Vec = api.struct({ x: 'f32', y: 'f32', z: 'f32' })
    const Mesh = api.struct({ n: 'u32', verts: [Vec, 100000] })
    const m = api.malloc(2, Mesh)
    try {
      const verts = m.at(1).verts
      assert.is(verts.length, 100000)
      verts.at(99999).z = 2.5
      verts.at(-100000).x = -1
      const dv = new DataView(m.buffer, m.byteOffset, m.byteLength)
      assert.is(dv.getFloat32(Mesh.byteLength + 4 + 99999 * 12 + 8, true), 2.5, 'verts[99999].z in the bytes')
      assert.is(dv.getFloat32(Mesh.byteLength + 4, true), -1, 'verts[0].x in the bytes')
      let n = 0
      for (const vert of verts) n += vert.z
      assert.is(n, 2.5, 'for-of over the field')
      assert.is(m.at(0).verts.at(99999).z, 0, 'the other record untouched')
    } finally {
      api.free(m)
    }
  })

  s(
    'records show their values to util.inspect and JSON.stringify, as plain objects (bigints as strings in JSON)',
    () => {
      const Vec = api.struct({ x: 'f32', y: 'f32' })
      const T = api.struct({ id: 'u32', big: 'i64', pos: Vec, v: ['u16', 2], w: ['u64', 1], pts: [Vec, 2] })
      const v = api.malloc(2, T)
      try {
        const r = v.at(1)
        r.id = 7
        r.big = -5n
        r.pos.x = 1.5
        r.v[1] = 9
        r.w[0] = 2n ** 64n - 1n
        r.pts.at(1).y = 2.5
        const plain = {
          id: 7,
          big: -5n,
          pos: { x: 1.5, y: 0 },
          v: new Uint16Array([0, 9]),
          w: new BigUint64Array([2n ** 64n - 1n]),
          pts: [
            { x: 0, y: 0 },
            { x: 0, y: 2.5 }
          ]
        }
        assert.is(inspect(r), inspect(plain), 'util.inspect(record)')
        assert.is(inspect(r.pos), inspect({ x: 1.5, y: 0 }), 'util.inspect(nested record)')
        const json =
          '{"id":7,"big":"-5","pos":{"x":1.5,"y":0},"v":[0,9],"w":["18446744073709551615"],"pts":[{"x":0,"y":0},{"x":0,"y":2.5}]}'
        assert.is(JSON.stringify(r), json, 'JSON.stringify(record)')
        const zero = '{"id":0,"big":"0","pos":{"x":0,"y":0},"v":[0,0],"w":["0"],"pts":[{"x":0,"y":0},{"x":0,"y":0}]}'
        assert.is(JSON.stringify(v), `[${zero},${json}]`, 'JSON.stringify(view): an array of records')
        assert.is(JSON.stringify(r.pts), '[{"x":0,"y":0},{"x":0,"y":2.5}]', 'JSON.stringify(array-of-structs field)')
        assert.match(inspect(v), /^StructArray\(2\) \[/, 'util.inspect(view) names it and its length')
        assert.match(inspect(v), /id: 7/, 'util.inspect(view) shows the records')
        // API.md (docs/api.md): the fields are accessors on the prototype, so that records stay cheap;
        // Object.keys is empty and Type.fields lists them.
        assert.equal(Object.keys(r), [], 'Object.keys(record) is empty, by design')
        assert.equal(
          T.fields.map((f: any) => f.name),
          ['id', 'big', 'pos', 'v', 'w', 'pts'],
          'Type.fields lists the names'
        )
      } finally {
        api.free(v)
      }
    }
  )

  requires(s, 'posix-tools')(
    'a nested struct reads as a record; records of arrays of structs write the mapped bytes',
    () => {
      const T = buildTypes(api)
      const p = tmpFile()
      const v = api.create(p, 1, T.Deep)
      try {
        const r = v.at(0)
        assert.type(r.o, 'object')
        step(r.o.pts, 2).b = -99
        step(r.o.sm, 1).c = 200
        step(r.arr, 1).w[1] = 2.5
        r.t.a = 5n
        step(r.sh, 2).a = 65000
        const inner = r.o
        inner.q = 4000000000
        assert.is(v.at(0).o.q, 4000000000, 'a record kept from earlier reads the same bytes')
      } finally {
        api.close(v)
      }
      const cl = c().layout.Deep
      const ls = leaves(byName('Deep'))
      const off = (cpath: string): number => cl.offsets[ls.findIndex((l) => l.c === cpath)]
      const dv = new DataView(fileBytes(p).buffer)
      assert.is(dv.getInt32(off('o.pts[2].b'), true), -99, 'o.pts[2].b in the file')
      assert.is(dv.getUint8(off('o.sm[1].c')), 200, 'o.sm[1].c in the file')
      assert.is(dv.getFloat64(off('arr[1].w[1]'), true), 2.5, 'arr[1].w[1] in the file')
      assert.is(dv.getBigInt64(off('t.a'), true), 5n, 't.a in the file')
      assert.is(dv.getUint16(off('sh[2].a'), true), 65000, 'sh[2].a in the file')
      assert.is(dv.getUint32(off('o.q'), true), 4000000000, 'o.q in the file')
    }
  )

  s('StructArray: length, at(i) with negative and out-of-range i, iteration, buffer/byteOffset/byteLength', () => {
    const T = api.struct({ a: 'i32', b: 'f64' })
    const v = api.create(tmpFile(), 5, T)
    try {
      assert.is(v.length, 5)
      assert.is(v.byteLength, 80)
      assert.ok(
        v.buffer instanceof ArrayBuffer ||
          (typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer),
        'buffer is an ArrayBuffer'
      )
      assert.type(v.byteOffset, 'number')
      assert.ok(v.byteOffset + v.byteLength <= v.buffer.byteLength, 'the bytes lie inside buffer')
      for (let i = 0; i < 5; i++) v.at(i).a = i * 10
      assert.is(v.at(-1).a, 40, 'at(-1) is the last')
      assert.is(v.at(-5).a, 0, 'at(-5) is the first')
      assert.is(v.at(5), undefined, 'at(length)')
      assert.is(v.at(-6), undefined, 'at(-length - 1)')
      assert.is(v.at(1000), undefined, 'at(1000)')
      const seen: number[] = []
      for (const rec of v) seen.push(rec.a)
      assert.equal(seen, [0, 10, 20, 30, 40], 'for..of yields the records in order')
      assert.equal(
        [...v].map((r: any) => r.a),
        [0, 10, 20, 30, 40],
        'spread'
      )
      const dv = new DataView(v.buffer, v.byteOffset, v.byteLength)
      assert.is(dv.getInt32(3 * 16, true), 30, 'record 3 starts at 3 * byteLength')
      dv.setFloat64(2 * 16 + 8, 6.5, true)
      assert.is(v.at(2).b, 6.5, 'writes through buffer show in records')
    } finally {
      api.close(v)
    }
    const e = api.create(tmpFile(), 0, T)
    assert.is(e.length, 0)
    assert.is(e.byteLength, 0)
    assert.is(e.at(0), undefined)
    assert.is(e.at(-1), undefined)
    assert.equal([...e], [])
    api.close(e)
  })

  requires(s, 'posix-tools')('reads a binary file of structs written by a C program', () => {
    const T = buildTypes(api)
    for (const name of ['Deep', 'Mixed', 'Seed']) {
      const p = tmpFile(`${name}.c.bin`)
      c().write(p, name)
      const v = api.open(p, T[name])
      try {
        assert.is(v.length, RECORDS, `${name}: records in the C file`)
        const ls = leaves(byName(name))
        for (let k = 0; k < RECORDS; k++) {
          ls.forEach((l, j) => {
            assert.is(getLeaf(v.at(k), l), leafValue(l.type, k, j), `${name}[${k}].${l.c}`)
          })
        }
      } finally {
        api.close(v)
      }
    }
  })

  requires(s, 'posix-tools')('writes the same bytes as the C program, and the C program reads them back', () => {
    const T = buildTypes(api)
    for (const name of ['Deep', 'Mixed']) {
      const cfile = tmpFile(`${name}.c.bin`)
      c().write(cfile, name)
      const p = tmpFile(`${name}.js.bin`)
      const v = api.create(p, RECORDS, T[name])
      const ls = leaves(byName(name))
      for (let k = 0; k < RECORDS; k++) ls.forEach((l, j) => setLeaf(v.at(k), l, leafValue(l.type, k, j)))
      api.close(v)
      sameBytes(fileBytes(p), fileBytes(cfile), `${name}: file written through mmapfile vs by C`)
      const printed = c().read(p, name)
      let i = 0
      for (let k = 0; k < RECORDS; k++) {
        ls.forEach((l, j) => {
          const want = leafValue(l.type, k, j)
          const got = typeof want === 'bigint' ? BigInt(printed[i]) : Number(printed[i])
          assert.is(got, want, `C reads ${name}[${k}].${l.c}`)
          i++
        })
      }
    }
  })

  requires(s, 'posix-tools')(
    'a struct view at an unaligned offset reads every field (C file behind one odd byte)',
    () => {
      const T = buildTypes(api)
      const cfile = tmpFile('Deep.c.bin')
      c().write(cfile, 'Deep')
      const body = fileBytes(cfile)
      for (const skip of [1, 3, api.PAGE_SIZE + 5]) {
        const p = tmpFile()
        const all = new Uint8Array(skip + body.length + 7)
        all.fill(0xee)
        all.set(body, skip)
        fs.writeFileSync(p, all)
        const v = api.open(p, T.Deep, 'r', { offset: skip })
        try {
          assert.is(v.length, RECORDS, `offset ${skip}: floor((size - offset) / byteLength)`)
          const ls = leaves(byName('Deep'))
          for (let k = 0; k < RECORDS; k++) {
            ls.forEach((l, j) =>
              assert.is(getLeaf(v.at(k), l), leafValue(l.type, k, j), `offset ${skip}: Deep[${k}].${l.c}`)
            )
          }
          assert.is(step(v.at(0).arr, 1).w.length, 2)
        } finally {
          api.close(v)
        }
      }
    }
  )

  requires(s, 'posix-tools')('create(path, n, Struct, data) copies data; malloc(n, Struct) is zeroed', () => {
    const T = buildTypes(api)
    const cfile = tmpFile('Mixed.c.bin')
    c().write(cfile, 'Mixed')
    const data = fileBytes(cfile)
    const p = tmpFile()
    const v = api.create(p, RECORDS, T.Mixed, data)
    const ls = leaves(byName('Mixed'))
    ls.forEach((l, j) => assert.is(getLeaf(v.at(2), l), leafValue(l.type, 2, j), `Mixed[2].${l.c}`))
    api.close(v)
    sameBytes(fileBytes(p), data, 'file after create with data')
    const m = api.malloc(4, T.Mixed)
    try {
      assert.is(m.length, 4)
      assert.is(m.byteLength, 4 * 64)
      allZero(bytesOf(m), 'malloc of structs')
      m.at(3).h = 2n ** 64n - 1n
      assert.is(m.at(3).h, 2n ** 64n - 1n)
    } finally {
      api.free(m)
    }
  })

  // node --disallow-code-generation-from-strings (through NODE_OPTIONS) stands for the CSP: Bun and
  // Deno have no such switch.
  const onNode = !('Bun' in globalThis) && !('Deno' in globalThis)
  const nodeOnly = onNode
    ? s
    : (name: string, fn: () => Promise<void>): void => {
        console.log(
          `# skip: "${name}": needs node's --disallow-code-generation-from-strings, which this runtime does not have`
        )
        s.skip(name, fn)
      }
  nodeOnly(
    'where code from strings is refused (a CSP without unsafe-eval), records behave the same (child process)',
    async () => {
      const r = await runChild(
        childPrelude(entry(ctx)) +
          `
let refused = null
try { new Function('return 1') } catch (e) { refused = e.name }
const Vec = m.struct({ x: 'f32', y: 'f32' })
const T = m.struct({ a: 'i32', big: 'i64', pos: Vec, pts: [Vec, 2] })
const v = m.malloc(3, T)
v.at(1).a = 7
v.at(-1).big = -3n
v.at(2).pts.at(1).y = 1.5
let sum = 0
for (let k = 0; k < 20000; k++) for (const rec of v) sum += rec.a + rec.pts.at(1).y
const out = { refused, a: [...v].map((rec) => rec.a), y: v.at(2).pts.at(-1).y, sum, json: JSON.stringify(v.at(2)), array: v.at(0).pts instanceof m.StructArray }
try { v.at(0).nope = 1; out.guard = 'accepted' } catch (e) { out.guard = e.name }
const kept = v.at(1)
m.free(v)
try { kept.a; out.closed = 'read' } catch (e) { out.closed = e.code }
report(out)
`,
        { env: { NODE_OPTIONS: '--disallow-code-generation-from-strings' } }
      )
      assertChildOk(r, 'records without code from strings')
      assert.equal(childReport(r, 'records without code from strings'), {
        refused: 'EvalError',
        a: [0, 7, 0],
        y: 1.5,
        sum: 20000 * (7 + 1.5),
        array: true,
        guard: 'TypeError',
        closed: 'ERR_MMAPFILE_CLOSED',
        json: '{"a":0,"big":"-3","pos":{"x":0,"y":0},"pts":[{"x":0,"y":0},{"x":0,"y":1.5}]}'
      })
    }
  )

  s('the scalar table agrees with typed arrays (self-check of the test)', () => {
    for (const [k, v] of Object.entries(SCALARS) as Array<[Scalar, { size: number; array: string }]>) {
      assert.is((globalThis as any)[v.array].BYTES_PER_ELEMENT, v.size, k)
    }
  })

  s.run()
}
