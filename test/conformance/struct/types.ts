// struct(): the errors of a struct type, its fields and assignments to them.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { inspect } from 'node:util'
import type { Ctx } from '../ctx'
import { bytesOf, closedError, expectThrow, sameBytes, tmpFile } from '../../helpers'
import { buildTypes, step } from './program'

/** struct() refuses bad fields, names and counts, with the type of error and a message that names them. */
export function definitionErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
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
}

/** Assigning a name that is not a field throws and leaves the bytes as they were. */
export function unknownNameAssignments(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
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
}

/** A nested struct or array field is not assignable whole; its members are. */
export function wholeFieldAssignments(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
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
}
