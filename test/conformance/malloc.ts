// malloc(count, type?) and free(view): anonymous zero-filled memory.
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { TYPED_ARRAYS } from './ctx'
import type { Ctx } from './ctx'
import {
  allZero,
  bytesOf,
  collect,
  expectThrow,
  fileBytes,
  fileWith,
  pattern,
  sameBytes,
  tmpFile,
  vmGrowthOnceCollected,
  vmSizeBytes
} from '../helpers'
import { requires } from '../helpers'
import type { Need } from '../helpers'

const MiB = 2 ** 20

export default function register(ctx: Ctx): void {
  // ---------------------------------------------------------------------------------------------
  const s = suite(`${ctx.label} malloc`)
  mallocErrors(s, ctx)
  mallocViews(s, ctx)
  s.run()

  // ---------------------------------------------------------------------------------------------
  const f = suite(`${ctx.label} free`)
  freeTests(f, ctx)
  f.run()
}

/** malloc: bad counts, types and sizes. */
function mallocErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s('is a function', () => {
    assert.type(api.malloc, 'function')
  })

  s('bad counts: RangeError out of domain, TypeError for a non-number', () => {
    const cases: Array<[unknown, typeof TypeError | typeof RangeError]> = [
      [-1, RangeError],
      [1.5, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      ['3', TypeError],
      [undefined, TypeError],
      [null, TypeError],
      [2n, TypeError]
    ]
    for (const [count, type] of cases) expectThrow(() => api.malloc(count), { type }, `malloc(${String(count)})`)
  })

  s('bad types are TypeErrors', () => {
    for (const [name, type] of [
      ['Object', Object],
      ["'i32'", 'i32'],
      ['DataView', DataView],
      ['Array', Array],
      ['null', null]
    ] as Array<[string, unknown]>) {
      expectThrow(() => api.malloc(2, type), { type: TypeError }, `malloc(2, ${name})`)
    }
  })

  s('more than maxViewBytes is a RangeError', () => {
    const max: number = api.capabilities.maxViewBytes
    expectThrow(() => api.malloc(max + 1), { type: RangeError }, 'malloc(maxViewBytes + 1)')
    expectThrow(
      () => api.malloc(Math.floor(max / 8) + 1, Float64Array),
      { type: RangeError },
      'malloc(maxViewBytes / 8 + 1, Float64Array)'
    )
  })
}

/** malloc: zero-filled views of every type, apart from each other, and memory given again. */
function mallocViews(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  // wasm: thousands of WebAssembly memories, which an emulator may not hold (test/needs.ts)
  const manyMemories: Need[] = ctx.backend === 'wasm' ? ['wasm-memories'] : []
  for (const T of TYPED_ARRAYS) {
    s(`${T.name}: a zero-filled ${T.name} of count elements`, () => {
      const m = api.malloc(33, T)
      assert.instance(m, T)
      assert.is(m.length, 33)
      allZero(bytesOf(m), 'new memory')
      const src = new T(pattern(33 * T.BYTES_PER_ELEMENT, 3).buffer)
      m.set(src as any)
      sameBytes(bytesOf(m), bytesOf(src), 'written bytes')
      api.free(m)
    })
  }

  s('defaults to Uint8Array; count 0 gives an empty view', () => {
    const m = api.malloc(5)
    assert.instance(m, Uint8Array)
    assert.is(m.length, 5)
    api.free(m)
    const e = api.malloc(0, Float32Array)
    assert.instance(e, Float32Array)
    assert.is(e.length, 0)
    api.free(e)
  })

  s('separate allocations do not overlap', () => {
    const views = Array.from({ length: 40 }, (_, i) => api.malloc(1000 + i * 37))
    views.forEach((v: Uint8Array, i: number) => v.fill(i + 1))
    views.forEach((v: Uint8Array, i: number) =>
      assert.ok(
        v.every((x) => x === i + 1),
        `allocation ${i} kept its bytes`
      )
    )
    for (const v of views) api.free(v)
  })

  s('memory given again after free is zero-filled', () => {
    for (let round = 0; round < 20; round++) {
      const a = api.malloc(64 * 1024 + round)
      a.fill(0xff)
      api.free(a)
      const b = api.malloc(64 * 1024 + round)
      allZero(b, `round ${round}: a new allocation after free`)
      b.fill(0xee)
      api.free(b)
    }
  })

  requires(
    s,
    'proc',
    ...manyMemories
  )('3,000 cycles of malloc(1 MiB) and free do not grow the process', async () => {
    const cycles = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const m = api.malloc(MiB)
        m[i % MiB] = 1
        m[MiB - 1] = 2
        api.free(m)
      }
    }
    // The first allocations may reserve for good what later ones reuse: measure after them.
    cycles(20)
    await collect()
    const before = vmSizeBytes()
    cycles(3000)
    // Native free unmaps at once. A wasm view is a WebAssembly.Memory, whose address space (4 to
    // 10 GiB reserved, by engine) comes back only when the engine collects it, at a time of its
    // choosing: so for wasm the growth counts once the freed memories are collected.
    const grown = ctx.backend === 'native' ? vmSizeBytes() - before : await vmGrowthOnceCollected(before, 1024 * MiB)
    // 3,000 leaked MiB would be 2.9 GiB, 3,000 leaked wasm memories terabytes; allow the runtime its own growth.
    assert.ok(grown < 1024 * MiB, `VmSize grew by ${Math.round(grown / MiB)} MiB over 3,000 cycles of 1 MiB`)
  })
}

/** free: of malloc views only; what it releases. */
function freeTests(f: Test, ctx: Ctx): void {
  const api: any = ctx.api

  f('is a function', () => {
    assert.type(api.free, 'function')
  })

  f('free of something that is not a view is a TypeError', () => {
    for (const [name, value] of [
      ['undefined', undefined],
      ['null', null],
      ['{}', {}],
      ['a plain Uint8Array', new Uint8Array(3)],
      ['a number', 9]
    ] as Array<[string, unknown]>) {
      expectThrow(() => api.free(value), { type: TypeError }, `free(${name})`)
    }
  })

  f('free of a file view is a TypeError, and the view stays open and usable', () => {
    const bytes = pattern(64)
    const p = fileWith(bytes)
    for (const mode of ['r', 'rw']) {
      const v = api.open(p, Uint8Array, mode)
      expectThrow(() => api.free(v), { type: TypeError }, `free(<open '${mode}' view>)`)
      assert.is(v.length, 64, `${mode}: still open`)
      sameBytes(v, bytes, `${mode}: still readable`)
      assert.is(api.info(v).mode, mode)
      api.close(v)
    }
    const q = tmpFile()
    const c = api.create(q, 8)
    expectThrow(() => api.free(c), { type: TypeError }, 'free(<created view>)')
    c[0] = 5
    api.close(c)
    assert.is(fileBytes(q)[0], 5, 'the created view still wrote back')
    expectThrow(() => api.free(c), { type: TypeError }, 'free(<closed file view>): still a file view')
  })

  f('free empties the view and every view over its buffer; a second free is a no-op', () => {
    const m = api.malloc(16, Int32Array)
    const alias = new Uint8Array(m.buffer, m.byteOffset, m.byteLength)
    m[0] = 1
    api.free(m)
    assert.is(m.length, 0)
    assert.is(alias.length, 0)
    api.free(m)
    api.free(m)
    api.close(m)
  })

  f('free of a struct malloc view', () => {
    const T = api.struct({ a: 'f64', b: ['u8', 3] })
    const m = api.malloc(10, T)
    m.at(9).b[2] = 7
    api.free(m)
    assert.is(m.length, 0)
    assert.is(m.at(0), undefined)
  })
}
