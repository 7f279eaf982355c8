// struct(): records written and read back, the layout checked against gcc, field values, arrays.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { inspect } from 'node:util'
import type { Ctx } from '../ctx'
import { DESCS, byName, encode, leafValue, leaves } from '../../cstruct'
import type { CProgram } from '../../cstruct'
import { allZero, bytesOf, fileBytes, requires, sameBytes, tmpDir, tmpFile } from '../../helpers'
import { buildTypes, getLeaf, leafName, setLeaf, step, structProgram } from './program'

const c = (): CProgram => structProgram(tmpDir)

/** The seed example, the layout against gcc, and 64-bit fields as bigint. */
export function seedAndLayout(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
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
}

/** Fixed arrays of scalars and of structs as fields. */
export function scalarArrayFields(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
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
}

/** Arrays of structs as fields: their records, and the bytes they reach. */
export function structArrayFields(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
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
}
