// The Backend contract: resize.
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Mapping } from '../../src/front/backend'
import { allZero, bytesOf, expectThrow, fileBytes, fileSize, fileWith, pattern, sameBytes, tmpFile } from '../helpers'
import type { ContractKit, ContractTest } from './kit'
import { OPTS } from './kit'

/** resize: its errors, then the bytes it keeps. */
export function resizeSuite(k: ContractKit): void {
  const { name, contract } = k
  // --- resize
  const resize = suite(`${name} backend: resize`)
  const resizeTest = contract(resize)
  resizeErrors(k, resize, resizeTest)
  resizeChanges(k, resize, resizeTest)
  resize.run()
}

/** resize of what cannot be resized, or beyond the largest view. */
function resizeErrors(k: ContractKit, resize: Test, resizeTest: ContractTest): void {
  const { backend } = k

  resizeTest("of an 'r' mapping: a TypeError, the mapping unchanged", () => {
    const m = backend.open(fileWith(10), 'r', 0, null, OPTS)
    expectThrow(() => backend.resize(m, 20), { type: TypeError }, "resize(<'r'>)")
    assert.is(m.byteLength, 10)
    backend.close(m)
  })

  resizeTest('beyond maxViewBytes: a RangeError, the mapping unchanged and still open', () => {
    for (const kind of ['rw', 'alloc']) {
      const m = kind === 'alloc' ? backend.alloc(10, OPTS) : backend.open(fileWith(10), 'rw', 0, null, OPTS)
      const view = bytesOf(m)
      view[1] = 9
      expectThrow(
        () => backend.resize(m, backend.capabilities.maxViewBytes + 1),
        { type: RangeError },
        `${kind}: resize(maxViewBytes + 1)`
      )
      assert.is(m.byteLength, 10, `${kind}: the mapping`)
      assert.is(view.length, 10, `${kind}: the caller's view is attached`)
      assert.is(view[1], 9, `${kind}: and keeps its bytes`)
      backend.close(m)
    }
  })

  resizeTest(
    'a window of a file: grows zero-filled, shrinks, to 0 and back; the old buffer is detached; the file is offset + length',
    () => {
      const PAGE = backend.pageSize
      const data = pattern(1000)
      const p = fileWith(data)
      let m: Mapping = backend.open(p, 'rw', 100, 500, OPTS)
      bytesOf(m)[0] ^= 1
      const old = bytesOf(m)
      m = backend.resize(m, 3 * PAGE)
      assert.is(old.length, 0, 'the old view is detached')
      assert.is(m.byteLength, 3 * PAGE)
      assert.is(fileSize(p), 100 + 3 * PAGE)
      const expected = data.slice(100, 600)
      expected[0] ^= 1
      sameBytes(bytesOf(m).subarray(0, 500), expected, 'the bytes kept')
      allZero(bytesOf(m).subarray(900), 'growth past the old end of the file')
      bytesOf(m)[3 * PAGE - 1] = 9
      m = backend.resize(m, 50)
      assert.is(fileSize(p), 150)
      m = backend.resize(m, 400)
      sameBytes(bytesOf(m).subarray(0, 50), expected.subarray(0, 50), 'the bytes kept through a shrink')
      allZero(bytesOf(m).subarray(50), 'growth after a shrink in the same page')
      m = backend.resize(m, 0)
      assert.is(m.byteLength, 0)
      assert.is(fileSize(p), 100)
      m = backend.resize(m, 10)
      assert.is(fileSize(p), 110)
      bytesOf(m)[9] = 5
      backend.close(m)
      const now = fileBytes(p)
      sameBytes(now.subarray(0, 100), data.subarray(0, 100), 'the file before the window')
      sameBytes(now.subarray(100), [0, 0, 0, 0, 0, 0, 0, 0, 0, 5], 'the window after close')
    }
  )
}

/** Changes before a resize reach the file; no old bytes come back. */
function resizeChanges(k: ContractKit, resize: Test, resizeTest: ContractTest): void {
  const { backend } = k
  resizeTest('changes made before a resize reach the file, growing and shrinking across 64 KiB chunk ends', () => {
    const CHUNK = 65536
    for (const [from, to] of [
      [CHUNK + 10, 3 * CHUNK],
      [3 * CHUNK + 10, CHUNK + 20],
      [3 * CHUNK, CHUNK + 5],
      [100000, 300000]
    ]) {
      const p = tmpFile()
      let m = backend.create(p, from, OPTS)
      bytesOf(m).set(pattern(from, from))
      bytesOf(m)[from - 1] = 5
      const expected = new Uint8Array(to)
      expected.set(bytesOf(m).subarray(0, Math.min(from, to)))
      m = backend.resize(m, to)
      bytesOf(m)[to - 1] = 6
      expected[to - 1] = 6
      backend.close(m)
      sameBytes(fileBytes(p), expected, `${from} -> ${to}`)
    }
  })

  resizeTest('shrinks across 64 KiB chunks, then grows: no old bytes come back, in memory or in the file', () => {
    const CHUNK = 65536
    const p = fileWith(pattern(5 * CHUNK))
    let m = backend.open(p, 'rw', 100, 5 * CHUNK - 100, OPTS)
    bytesOf(m)[10] ^= 1
    m = backend.resize(m, 1000)
    assert.is(fileSize(p), 1100)
    m = backend.resize(m, 0)
    assert.is(fileSize(p), 100)
    m = backend.resize(m, 3 * CHUNK)
    allZero(bytesOf(m), 'in memory')
    bytesOf(m)[5] = 5
    backend.close(m)
    const now = fileBytes(p)
    assert.is(now.length, 100 + 3 * CHUNK)
    assert.is(now[105], 5)
    now[105] = 0
    allZero(now.subarray(100), 'in the file')
  })

  resizeTest(
    'an empty created file and an alloc grow; an alloc keeps what fits and zero-fills growth, even in the same page',
    () => {
      const p = tmpFile()
      let m = backend.create(p, 0, OPTS)
      m = backend.resize(m, 10)
      bytesOf(m)[9] = 1
      backend.close(m)
      sameBytes(fileBytes(p), [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 'the file')
      let a = backend.alloc(100, OPTS)
      bytesOf(a).fill(3)
      a = backend.resize(a, 10)
      a = backend.resize(a, 5 * backend.pageSize)
      sameBytes(bytesOf(a).subarray(0, 10), new Uint8Array(10).fill(3), 'kept')
      allZero(bytesOf(a).subarray(10), 'growth after a shrink')
      a = backend.resize(a, 0)
      a = backend.resize(a, 70000)
      allZero(bytesOf(a), 'growth from 0')
      backend.close(a)
      assert.is(a.byteLength, 0)
      let e = backend.alloc(0, OPTS)
      e = backend.resize(e, 5000)
      bytesOf(e)[4999] = 3
      e = backend.resize(e, 70000)
      assert.is(bytesOf(e)[4999], 3, 'an alloc of 0 bytes, grown twice')
      backend.close(e)
    }
  )
}
