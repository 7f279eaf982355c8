// close(): its errors, then what it writes back and how it empties the view.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Ctx } from '../ctx'
import { closedError, expectReject, expectThrow, fileBytes, fileWith, pattern, sameBytes, tmpFile } from '../../helpers'
import { makers } from './makers'

/** close of what is not a view, and calls on a closed view. */
export function closeErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s('is a function', () => {
    assert.type(api.close, 'function')
  })

  // --- errors first
  s('close of something that is not a view is a TypeError', () => {
    const cases: Array<[string, unknown]> = [
      ['undefined', undefined],
      ['null', null],
      ['a number', 3],
      ['an object', {}],
      ['a plain Uint8Array', new Uint8Array(4)],
      ['an ArrayBuffer', new ArrayBuffer(8)],
      ['a DataView', new DataView(new ArrayBuffer(8))],
      ['a string', '/tmp/x']
    ]
    for (const [name, value] of cases) {
      expectThrow(() => api.close(value), { type: TypeError }, `close(${name})`)
    }
  })

  for (const fn of ['sync', 'resize', 'advise', 'info'] as const) {
    s(`${fn} of a closed view of every kind is a TypeError with code ERR_MMAPFILE_CLOSED`, () => {
      for (const [kind, make] of makers(api)) {
        const v = make()
        api.close(v)
        const args: unknown[] = fn === 'resize' ? [v, 4] : fn === 'advise' ? [v, 'normal'] : [v]
        expectThrow(() => (api[fn] as Function)(...args), closedError, `${fn}(<closed ${kind} view>)`)
      }
    })
  }

  s('syncAsync of a closed view rejects (never throws) with ERR_MMAPFILE_CLOSED', async () => {
    for (const [kind, make] of makers(api)) {
      const v = make()
      api.close(v)
      await expectReject(() => api.syncAsync(v), closedError, `syncAsync(<closed ${kind} view>)`)
    }
  })

  s('the calls on a closed view are TypeErrors even with bad extra arguments', () => {
    const v = api.create(tmpFile(), 8)
    api.close(v)
    expectThrow(() => api.sync(v, { offset: 100 }), closedError, 'sync(<closed>, { offset: 100 })')
    expectThrow(() => api.advise(v, 'bogus'), closedError, "advise(<closed>, 'bogus')")
    expectThrow(() => api.resize(v, -1), closedError, 'resize(<closed>, -1)')
  })
}

/** close writes the view back, then empties it and every view over its buffer. */
export function writeBackAndEmptying(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  // --- happy path
  s("close writes 'rw' and created views back to the file", () => {
    const p = tmpFile()
    const v = api.create(p, 3 * PAGE)
    const data = pattern(3 * PAGE, 2)
    v.set(data)
    api.close(v)
    sameBytes(fileBytes(p), data, 'file after close of a created view')
    const q = fileWith(PAGE * 2 + 1)
    const w = api.open(q, Uint8Array, 'rw', { offset: PAGE - 1, length: 3 })
    w.set([7, 8, 9])
    api.close(w)
    const expected = pattern(PAGE * 2 + 1)
    expected.set([7, 8, 9], PAGE - 1)
    sameBytes(fileBytes(q), expected, 'file after close of an rw window')
  })

  s('writing through new Uint8Array(view.buffer, view.byteOffset, view.byteLength) is writing to the view', () => {
    const data = pattern(5 * PAGE + 11)
    const p = fileWith(data)
    const offset = 3
    const v = api.open(p, Int32Array, 'rw', { offset, length: 4000 + 3 })
    const alias = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    assert.is(alias.length, 4000)
    const bytes = pattern(4000, 5)
    alias.set(bytes)
    assert.is(v[1], new DataView(bytes.buffer).getInt32(4, true), 'the view reads what the alias wrote')
    api.close(v)
    const expected = data.slice()
    expected.set(bytes, offset)
    sameBytes(fileBytes(p), expected, 'the file after close')
  })

  s('writing over all of view.buffer never loses a change: the file holds the window as it is now', () => {
    // On native, view.buffer is the window; on wasm it is more (the instance's memory).
    for (const fill of ['zeros', 'bytes'] as const) {
      for (const [offset, length, size] of [
        [0, 3 * 65536, 4 * 65536],
        [1000, 3 * 65536 + 5, 5 * 65536 + 7],
        [0, 100, 100]
      ]) {
        const what = `${fill}, window [${offset}, ${offset + length}) of ${size} bytes`
        const data = pattern(size, 3)
        const p = fileWith(data)
        const v = api.open(p, Uint8Array, 'rw', { offset, length })
        const all = new Uint8Array(v.buffer)
        if (fill === 'zeros') all.fill(0)
        else all.set(pattern(all.length, 77))
        const expected = data.slice()
        expected.set(v, offset)
        api.sync(v)
        sameBytes(fileBytes(p), expected, `${what}: after sync`)
        v[length - 1] ^= 0xff
        expected[offset + length - 1] ^= 0xff
        api.close(v)
        sameBytes(fileBytes(p), expected, `${what}: after a change and close`)
      }
    }
  })

  s('bytes written over view.buffer outside a closed view never show in a later view or reach its file', () => {
    // On wasm a closed view's memory may serve the next mapping; on native the buffer is the window alone.
    for (let round = 0; round < 4; round++) {
      const a = api.create(tmpFile(), 100 + round)
      const all = new Uint8Array(a.buffer)
      for (let i = 0; i < all.length; i++) if (i < a.byteOffset || i >= a.byteOffset + a.byteLength) all[i] = 0xee
      api.close(a)
      const p = tmpFile()
      const b = api.create(p, 3 * 65536)
      const c = api.malloc(70000)
      sameBytes(new Uint8Array(b), new Uint8Array(b.length), `round ${round}: a new file's view`)
      sameBytes(new Uint8Array(c), new Uint8Array(c.length), `round ${round}: a malloc view`)
      api.close(b)
      api.free(c)
      sameBytes(fileBytes(p), new Uint8Array(3 * 65536), `round ${round}: the new file`)
    }
  })

  s('afterwards the view and every other view over its buffer have length 0', () => {
    for (const [kind, make] of makers(api)) {
      const v = make()
      const isStruct = typeof v.at === 'function' && !ArrayBuffer.isView(v)
      const alias = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
      const field = isStruct && v.length > 0 ? v.at(0).v : undefined
      api.close(v)
      assert.is(v.length, 0, `${kind}: view.length`)
      assert.is(v.byteLength, 0, `${kind}: view.byteLength`)
      assert.is(alias.length, 0, `${kind}: another Uint8Array over the buffer`)
      assert.is(v.buffer.byteLength, 0, `${kind}: buffer.byteLength`)
      if (field !== undefined) assert.is(field.length, 0, `${kind}: a fixed-array field taken before close`)
      if (isStruct) assert.is(v.at(0), undefined, `${kind}: at(0)`)
    }
  })

  s('a second close is a no-op, for every kind of view; close after free too', () => {
    for (const [kind, make] of makers(api)) {
      const v = make()
      api.close(v)
      api.close(v)
      api.close(v)
      assert.is(v.length, 0, kind)
    }
    const m = api.malloc(4)
    api.free(m)
    api.close(m)
    api.free(m)
  })

  s('close releases a malloc view like free', () => {
    const m = api.malloc(100)
    m[0] = 1
    api.close(m)
    assert.is(m.length, 0)
  })
}
