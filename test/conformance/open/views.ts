// open(): views of a file, whole or a window at any offset, of every element type.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'
import { TYPED_ARRAYS } from '../ctx'
import type { Ctx } from '../ctx'
import { bytesOf, fileBytes, fileWith, pattern, sameBytes } from '../../helpers'

/** The whole file, every typed array, and windows at unaligned offsets. */
export function wholeAndWindows(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  // --- happy path
  s("open(path) maps the whole file read-only as a Uint8Array, mode 'r'", () => {
    const bytes = pattern(1000)
    const p = fileWith(bytes)
    const v = api.open(p)
    assert.instance(v, Uint8Array)
    assert.is(v.length, 1000)
    sameBytes(v, bytes, 'view')
    assert.is(api.info(v).mode, 'r')
    api.close(v)
    const w = api.open(p, undefined, undefined, { offset: 10 })
    assert.is(w.length, 990)
    assert.is(api.info(w).mode, 'r', 'mode undefined is r')
    sameBytes(w, bytes.subarray(10), 'window')
    api.close(w)
  })

  for (const T of TYPED_ARRAYS) {
    s(`${T.name}: floor(length / elementSize) elements, read as ${T.name}`, () => {
      const size = 3 * T.BYTES_PER_ELEMENT + (T.BYTES_PER_ELEMENT > 1 ? T.BYTES_PER_ELEMENT - 1 : 0)
      const bytes = pattern(size, 7)
      const p = fileWith(bytes)
      for (const mode of ['r', 'rw']) {
        const v = api.open(p, T, mode)
        assert.instance(v, T)
        assert.is(v.length, 3, `${mode}: elements of a ${size}-byte file`)
        const expected = new T(bytes.slice(0, 3 * T.BYTES_PER_ELEMENT).buffer)
        assert.equal(Array.from(v), Array.from(expected as any), `${mode}: values`)
        api.close(v)
      }
      sameBytes(fileBytes(p), bytes, 'the file after closing both')
    })
  }

  s("'rw': writes reach the file; bytes past the last whole element are untouched", () => {
    const bytes = pattern(11)
    const p = fileWith(bytes)
    const v = api.open(p, Int32Array, 'rw')
    assert.is(v.length, 2)
    v[0] = -1
    v[1] = 0x01020304
    api.close(v)
    const expected = bytes.slice()
    expected.set([255, 255, 255, 255, 4, 3, 2, 1], 0)
    sameBytes(fileBytes(p), expected, 'file')
  })

  const offsetsOf = (): number[] => [1, 3, 4095, 4097, PAGE - 1, PAGE + 3, 2 * PAGE, 2 * PAGE + 1]
  for (const T of [Uint8Array, Int32Array, Float64Array, BigUint64Array, Uint16Array] as const) {
    s(`${T.name}: windows at unaligned offsets, with and without length, read the right bytes`, () => {
      const size = 4 * PAGE + 123
      const bytes = pattern(size, 11)
      const p = fileWith(bytes)
      const E = T.BYTES_PER_ELEMENT
      for (const offset of offsetsOf()) {
        for (const length of [undefined, 1, 9, 24, PAGE + 5]) {
          const len = length ?? size - offset
          const v = api.open(p, T, 'r', length === undefined ? { offset } : { offset, length })
          const what = `{ offset: ${offset}, length: ${String(length)} }`
          assert.instance(v, T)
          assert.is(v.length, Math.floor(len / E), `${what}: elements`)
          sameBytes(bytesOf(v), bytes.subarray(offset, offset + v.length * E), `${what}: bytes`)
          if (v.length > 0) {
            const dv = new DataView(bytes.buffer, offset)
            if (T === Int32Array) assert.is(v[0], dv.getInt32(0, true), `${what}: first value`)
            if (T === Float64Array)
              assert.is(
                Object.is(v[0], dv.getFloat64(0, true)) || (Number.isNaN(v[0]) && Number.isNaN(dv.getFloat64(0, true))),
                true,
                `${what}: first value`
              )
            if (T === BigUint64Array)
              assert.is(v[v.length - 1], dv.getBigUint64((v.length - 1) * 8, true), `${what}: last value`)
          }
          api.close(v)
        }
      }
    })
  }

  s("'rw' windows at unaligned offsets write exactly their bytes", () => {
    const size = 4 * PAGE + 123
    const bytes = pattern(size, 13)
    const p = fileWith(bytes)
    const expected = bytes.slice()
    for (const offset of offsetsOf()) {
      for (const length of [undefined, 1, 8, 100, PAGE + 5]) {
        const len = length ?? size - offset
        const v = api.open(p, Int16Array, 'rw', length === undefined ? { offset } : { offset, length })
        assert.is(v.length, Math.floor(len / 2))
        const b = bytesOf(v)
        for (let i = 0; i < b.length; i++) b[i] = (b[i] + offset + i) & 0xff
        for (let i = 0; i < b.length; i++) expected[offset + i] = (expected[offset + i] + offset + i) & 0xff
        api.close(v)
        sameBytes(
          fileBytes(p),
          expected,
          `file after writing the window { offset: ${offset}, length: ${String(length)} }`
        )
      }
    }
  })
}

/** Empty views, and a file: URL or a relative path. */
export function emptyViewsAndPaths(s: Test, ctx: Ctx): void {
  const api: any = ctx.api

  s('an offset equal to the file size gives an empty view; so does length 0', () => {
    const p = fileWith(100)
    for (const mode of ['r', 'rw']) {
      for (const opts of [
        { offset: 100 },
        { offset: 100, length: 0 },
        { offset: 0, length: 0 },
        { offset: 37, length: 0 }
      ]) {
        const v = api.open(p, Float64Array, mode, opts)
        assert.instance(v, Float64Array)
        assert.is(v.length, 0, `${mode} ${JSON.stringify(opts)}`)
        api.sync(v)
        api.close(v)
      }
      const w = api.open(p, Float64Array, mode, { offset: 95 })
      assert.is(w.length, 0, `${mode}: 5 bytes hold no f64`)
      api.close(w)
    }
    assert.is(fileBytes(p).length, 100)
  })

  s('an empty file gives an empty view, in both modes and for a struct type', () => {
    const p = fileWith(new Uint8Array(0))
    const T = api.struct({ a: 'i32' })
    for (const mode of ['r', 'rw']) {
      const v = api.open(p, Uint8Array, mode)
      assert.is(v.length, 0, mode)
      api.close(v)
      const sv = api.open(p, T, mode)
      assert.is(sv.length, 0, `${mode}: struct`)
      assert.is(sv.at(0), undefined)
      api.close(sv)
    }
    assert.is(fileBytes(p).length, 0)
  })

  s('accepts a file: URL and a relative path', () => {
    const bytes = pattern(50)
    const p = fileWith(bytes)
    const v = api.open(pathToFileURL(p))
    sameBytes(v, bytes, 'through a URL')
    api.close(v)
    const w = api.open(path.relative(process.cwd(), p), Uint8Array, 'rw')
    sameBytes(w, bytes, 'through a relative path')
    api.close(w)
  })
}
