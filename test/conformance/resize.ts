// resize(view, count): grows or shrinks created, 'rw' and malloc views; the file follows.
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import type { Ctx } from './ctx'
import {
  allZero,
  assertNothingHeld,
  bytesOf,
  closedError,
  expectThrow,
  fileBytes,
  fileSize,
  fileWith,
  pattern,
  readAt,
  sameBytes,
  tmpFile
} from '../helpers'

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} resize`)
  resizeErrors(s, ctx)
  growAndShrink(s, ctx)
  windowsAndKinds(s, ctx)
  s.run()
}

/** What is not a view, an 'r' view, bad counts: errors, the view unchanged. */
function resizeErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s('is a function', () => {
    assert.type(api.resize, 'function')
  })

  // --- errors first
  s('resize of something that is not a view is a TypeError', () => {
    for (const [name, value] of [
      ['undefined', undefined],
      ['{}', {}],
      ['a plain Int32Array', new Int32Array(2)]
    ] as Array<[string, unknown]>) {
      expectThrow(() => api.resize(value, 4), { type: TypeError }, `resize(${name}, 4)`)
    }
  })

  s("an 'r' view is a TypeError, and stays open and unchanged", () => {
    const bytes = pattern(100)
    const p = fileWith(bytes)
    const v = api.open(p)
    expectThrow(() => api.resize(v, 200), { type: TypeError }, "resize(<'r' view>, 200)")
    expectThrow(() => api.resize(v, 50), { type: TypeError }, "resize(<'r' view>, 50)")
    assert.is(v.length, 100)
    sameBytes(v, bytes, 'view')
    assert.is(fileSize(p), 100)
    api.close(v)
  })

  s('bad counts: RangeError or TypeError, and the view stays open and unchanged, the file too', () => {
    const p = tmpFile()
    const data = pattern(40)
    const v = api.create(p, 10, Int32Array, data)
    const max: number = api.capabilities.maxViewBytes
    const cases: Array<[unknown, typeof TypeError | typeof RangeError]> = [
      [-1, RangeError],
      [1.5, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      [Math.floor(max / 4) + 1, RangeError],
      ['3', TypeError],
      [undefined, TypeError],
      [3n, TypeError]
    ]
    for (const [count, type] of cases) {
      expectThrow(() => api.resize(v, count), { type }, `resize(view, ${String(count)})`)
      assert.is(v.length, 10, `after resize(view, ${String(count)}): length`)
      sameBytes(bytesOf(v), data, `after resize(view, ${String(count)}): bytes`)
      assert.is(fileSize(p), 40, `after resize(view, ${String(count)}): file size`)
    }
    v[0] = 77
    api.close(v)
    assert.is(fileBytes(p)[0], 77, 'the view still wrote back')
  })
}

/** Growing and shrinking: contents kept, growth zero-filled, the file sized. */
function growAndShrink(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  // --- happy path
  s('grows a created view: contents kept, growth zero-filled, file size, old view closed', () => {
    const p = tmpFile()
    const v = api.create(p, 10, Int32Array)
    for (let i = 0; i < 10; i++) v[i] = i * 1000 - 3
    const alias = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    const w = api.resize(v, 3000)
    assert.instance(w, Int32Array)
    assert.is(w.length, 3000)
    assert.is(fileSize(p), 12000, 'file size right after resize')
    for (let i = 0; i < 10; i++) assert.is(w[i], i * 1000 - 3, `element ${i} kept`)
    allZero(bytesOf(w).subarray(40), 'growth')
    assert.is(v.length, 0, 'the old view has length 0')
    assert.is(alias.length, 0, 'another view over the old buffer has length 0')
    expectThrow(() => api.sync(v), closedError, 'sync(<old view>)')
    expectThrow(() => api.resize(v, 5), closedError, 'resize(<old view>, 5)')
    api.close(v)
    w[2999] = 5
    assert.is(api.info(w).byteLength, 12000)
    api.close(w)
    const dv = new DataView(fileBytes(p).buffer)
    assert.is(dv.getInt32(9 * 4, true), 8997)
    assert.is(dv.getInt32(2999 * 4, true), 5)
  })

  s('shrinks, to 0, and grows again from 0', () => {
    const p = tmpFile()
    const data = pattern(3 * PAGE, 5)
    let v = api.create(p, 3 * PAGE, Uint8Array, data)
    v = api.resize(v, PAGE + 1)
    assert.is(v.length, PAGE + 1)
    assert.is(fileSize(p), PAGE + 1)
    sameBytes(v, data.subarray(0, PAGE + 1), 'after shrinking')
    v = api.resize(v, 0)
    assert.is(v.length, 0)
    assert.is(fileSize(p), 0)
    assert.is(api.info(v).byteLength, 0, 'an empty view is still open')
    v = api.resize(v, 20)
    assert.is(v.length, 20)
    assert.is(fileSize(p), 20)
    allZero(v, 'grown from 0')
    v[19] = 1
    api.close(v)
    sameBytes(fileBytes(p), [...new Array(19).fill(0), 1], 'file')
  })

  s('shrinking then growing zero-fills what was cut, in memory and in the file', () => {
    const p = tmpFile()
    let v = api.create(p, 2 * PAGE)
    v.fill(0xaa)
    v = api.resize(v, 10)
    v = api.resize(v, 2 * PAGE)
    assert.ok(v.subarray(0, 10).every((x: number) => x === 0xaa))
    allZero(v.subarray(10), 'growth after a shrink')
    api.close(v)
    allZero(fileBytes(p).subarray(10), 'file after a shrink and growth')
  })

  s("an 'rw' window: the file becomes offset + count × elementSize bytes", () => {
    const bytes = pattern(3 * PAGE, 6)
    const p = fileWith(bytes)
    const offset = PAGE + 3
    let v = api.open(p, Uint16Array, 'rw', { offset, length: 100 })
    v[0] = 0xbeef
    v = api.resize(v, 10)
    assert.instance(v, Uint16Array)
    assert.is(v.length, 10)
    assert.is(fileSize(p), offset + 20, 'after shrinking to 10 × 2 bytes')
    assert.is(v[0], 0xbeef)
    v = api.resize(v, PAGE)
    assert.is(fileSize(p), offset + 2 * PAGE, 'after growing to PAGE_SIZE × 2 bytes')
    assert.is(api.info(v).offset, offset)
    allZero(bytesOf(v).subarray(20), 'growth')
    api.close(v)
    const file = fileBytes(p)
    sameBytes(file.subarray(0, offset), bytes.subarray(0, offset), 'bytes before the window')
    sameBytes(
      file.subarray(offset + 2, offset + 20),
      bytes.subarray(offset + 2, offset + 20),
      'bytes of the window that fit'
    )
    allZero(file.subarray(offset + 20), 'the file after the cut')
  })
}

/** Windows before the end of a file or past 4 GiB, struct and malloc views, many resizes. */
function windowsAndKinds(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s("growing an 'rw' window that ends before the end of the file: zeros in the view and in the file", () => {
    // [file size, offset, length, new length]: growth inside the old file, and growth past its end
    for (const [size, offset, length, grown] of [
      [1000, 0, 100, 200],
      [70000, 5, 100, 100000]
    ]) {
      const what = `${size}-byte file, [${offset}, ${offset + length}) grown to ${grown}`
      const bytes = pattern(size, 8)
      const p = fileWith(bytes)
      let v = api.open(p, Uint8Array, 'rw', { offset, length })
      v = api.resize(v, grown)
      assert.is(fileSize(p), offset + grown, `${what}: the file is offset + the new length`)
      sameBytes(v.subarray(0, length), bytes.subarray(offset, offset + length), `${what}: the window that fits`)
      allZero(v.subarray(length), `${what}: growth in the view`)
      allZero(fileBytes(p).subarray(offset + length), `${what}: growth in the file, right after resize`)
      const at = length + 50
      v[at] = 7
      v[at + 10] = 0
      api.close(v)
      const file = fileBytes(p)
      assert.is(file.length, offset + grown, `${what}: file size after close`)
      sameBytes(
        file.subarray(0, offset + length),
        bytes.subarray(0, offset + length),
        `${what}: the file up to the growth`
      )
      assert.is(file[offset + at], 7, `${what}: a write in the growth reached the file`)
      file[offset + at] = 0
      allZero(file.subarray(offset + length), `${what}: the rest of the growth in the file`)
      assert.is.not(bytes[offset + at + 10], 0, `${what}: the test had an old byte to show`)
    }
  })

  s('a window past 4 GiB of a sparse file resizes the file to offset + bytes', () => {
    const p = tmpFile()
    const fd = fs.openSync(p, 'w+')
    fs.ftruncateSync(fd, 2 ** 32 + 100)
    fs.closeSync(fd)
    let v = api.open(p, Uint8Array, 'rw', { offset: 2 ** 32 + 10, length: 4 })
    v[0] = 1
    v = api.resize(v, 8)
    v[7] = 2
    assert.is(fileSize(p), 2 ** 32 + 18)
    api.close(v)
    sameBytes(readAt(p, 2 ** 32 + 10, 8), [1, 0, 0, 0, 0, 0, 0, 2], 'bytes at 4 GiB + 10')
    fs.rmSync(p)
  })

  s('a struct view resizes to a StructArray, records kept', () => {
    const T = api.struct({ a: 'i32', b: 'f64' })
    const p = tmpFile()
    let v = api.create(p, 2, T)
    v.at(1).b = 1.5
    v = api.resize(v, 5)
    assert.is(v.length, 5)
    assert.is(v.byteLength, 80)
    assert.is(v.at(1).b, 1.5)
    assert.is(v.at(4).a, 0)
    assert.is(fileSize(p), 80)
    v = api.resize(v, 1)
    assert.is(v.length, 1)
    assert.is(fileSize(p), 16)
    api.close(v)
  })

  s('a malloc view: contents kept, growth zero-filled, info path null', () => {
    let m = api.malloc(100, Float64Array)
    m[99] = 9.5
    m = api.resize(m, 100_000)
    assert.instance(m, Float64Array)
    assert.is(m.length, 100_000)
    assert.is(m[99], 9.5)
    allZero(bytesOf(m).subarray(800), 'growth')
    assert.equal(api.info(m), { path: null, mode: 'rw', offset: 0, byteLength: 800_000, backend: ctx.backend })
    m = api.resize(m, 50)
    assert.is(m.length, 50)
    api.free(m)
  })

  s('many resizes in a row keep the contents; nothing is held afterwards', () => {
    const p = tmpFile()
    let v = api.create(p, 1)
    const expected: number[] = []
    for (let i = 0; i < 60; i++) {
      v = api.resize(v, i * 997 + 3)
      const n = v.length
      for (let k = 0; k < Math.min(expected.length, n); k++) {
        if (v[k] !== expected[k]) assert.unreachable(`resize ${i}: byte ${k} is ${v[k]}, expected ${expected[k]}`)
      }
      expected.length = Math.min(expected.length, n)
      while (expected.length < n) expected.push(0)
      v[n - 1] = i
      expected[n - 1] = i
    }
    api.close(v)
    sameBytes(fileBytes(p), expected, 'file')
    assertNothingHeld('after 60 resizes and close', p)
  })
}
