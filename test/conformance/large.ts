// open() windows of a sparse 6 GiB file, around the 2 GiB and 4 GiB marks where 32-bit offsets break.
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import type { Ctx } from './ctx'
import { heldSnapshot, bytesOf, expectThrow, readAt, sameBytes, tmpFile, writeAt } from '../helpers'

const GiB = 2 ** 30
const SIZE = 6 * GiB
const MARKS: Array<[number, number]> = [
  [2 ** 31 - 1, 0xa1],
  [2 ** 31, 0xa2],
  [2 ** 32 - 1, 0xa3],
  [2 ** 32, 0xa4],
  [2 ** 32 + 1, 0xa5],
  [SIZE - 1, 0xa6]
]

// The sparse file of the suite running: made by its before hook, removed by its after hook (uvu runs
// one suite at a time).
let p = ''

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} open: a sparse 6 GiB file`)
  sparseFile(s)
  largeErrors(s, ctx)
  largeWindows(s, ctx)
  s.run()
}

/** The sparse file of 6 GiB with its marker bytes, made before the tests and removed after. */
function sparseFile(s: Test): void {
  s.before(() => {
    p = tmpFile('sparse-6g.bin')
    const fd = fs.openSync(p, 'w+')
    try {
      fs.ftruncateSync(fd, SIZE)
      for (const [at, byte] of MARKS) fs.writeSync(fd, new Uint8Array([byte]), 0, 1, at)
    } finally {
      fs.closeSync(fd)
    }
  })

  s.after(() => {
    if (p !== '') fs.rmSync(p, { force: true })
  })
}

/** Windows past the largest view, and the whole file where it is larger. */
function largeErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  // --- errors first
  s(
    'a window one byte larger than maxViewBytes is a RangeError that says to use offset/length; offsets past the end too',
    () => {
      const held = heldSnapshot()
      const max: number = api.capabilities.maxViewBytes
      // API.md: for open, the message says to map a window with offset/length
      const tooLarge: Array<[object, string]> = [[{ offset: 0, length: max + 1 }, '{ length: maxViewBytes + 1 }']]
      if (SIZE > max) tooLarge.push([{ offset: SIZE - max - 1 }, '{ offset: size - maxViewBytes - 1 }'])
      for (const [opts, what] of tooLarge) {
        const e = expectThrow(() => api.open(p, Uint8Array, 'r', opts), { type: RangeError }, `open(<6 GiB>, ${what})`)
        assert.match(e.message, /offset/, `${what}: the message mentions offset`)
        assert.match(e.message, /length/, `${what}: the message mentions length`)
      }
      expectThrow(
        () => api.open(p, Uint8Array, 'r', { offset: SIZE + 1 }),
        { type: RangeError },
        'open(<6 GiB>, { offset: size + 1 })'
      )
      expectThrow(
        () => api.open(p, Uint8Array, 'r', { offset: SIZE - 4, length: 5 }),
        { type: RangeError },
        'open(<6 GiB>, { offset: size - 4, length: 5 })'
      )
      expectThrow(
        () => api.open(p, Uint8Array, 'r', { offset: 2 ** 53, length: 1 }),
        { type: RangeError },
        'open(<6 GiB>, { offset: 2 ** 53 })'
      )
      held('after the refused opens')
    }
  )

  // Where maxViewBytes is under 6 GiB (Node 20 and Bun: 4 GiB; wasm), the whole file is refused;
  // where it is not (Node 22+ and Deno take views of terabytes), it is mapped whole.
  s(
    'the whole file: a RangeError that says to use offset/length if larger than maxViewBytes, else one view of 6 GiB',
    () => {
      const held = heldSnapshot()
      const max: number = api.capabilities.maxViewBytes
      if (SIZE > max) {
        for (const mode of ['r', 'rw']) {
          const e = expectThrow(
            () => api.open(p, Uint8Array, mode),
            { type: RangeError },
            `open(<6 GiB>, Uint8Array, '${mode}')`
          )
          assert.match(e.message, /offset/, 'the message mentions offset')
          assert.match(e.message, /length/, 'the message mentions length')
          expectThrow(
            () => api.open(p, Float64Array, mode, { offset: 3 }),
            { type: RangeError },
            `open(<6 GiB>, Float64Array, '${mode}', { offset: 3 })`
          )
        }
      } else {
        for (const mode of ['r', 'rw']) {
          // sparse: a deliberately sparse file; reserving its 6 GiB for the 'rw' view would fill a CI disk
          const v = api.open(p, Uint8Array, mode, { sparse: true })
          assert.is(v.length, SIZE, `'${mode}': the view's length`)
          assert.is(api.info(v).byteLength, SIZE, `'${mode}': info().byteLength`)
          for (const [at, byte] of MARKS) assert.is(v[at], byte, `'${mode}': the marker at ${at}`)
          api.close(v)
          const f = api.open(p, Float64Array, mode, { offset: 3, sparse: true })
          assert.is(f.length, Math.floor((SIZE - 3) / 8), `'${mode}': a Float64Array from offset 3`)
          const bytes = bytesOf(f)
          for (const [at, byte] of MARKS.filter(([at]) => at - 3 < f.byteLength)) {
            assert.is(bytes[at - 3], byte, `'${mode}': the marker at ${at} through the Float64Array's bytes`)
          }
          api.close(f)
        }
        // a write through the whole 'rw' view reaches the file past 4 GiB
        const at = 2 ** 32 + 2
        const before = readAt(p, at, 1)
        const w = api.open(p, Uint8Array, 'rw', { sparse: true })
        w[at] = 0x5a
        api.close(w)
        sameBytes(readAt(p, at, 1), [0x5a], `the byte at ${at} written through the whole view`)
        writeAt(p, at, before)
        assert.is(fs.statSync(p).size, SIZE, 'the file keeps its size')
      }
      held('after the whole-file views')
    }
  )
}

/** Windows around 2^31 and 2^32, typed, struct and 'rw', and near the end of the file. */
function largeWindows(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  // --- happy path
  s('windows around 2^31 and 2^32 read the marker bytes', () => {
    for (const [at, byte] of MARKS) {
      for (const [before, length] of [
        [0, 1],
        [5, 16],
        [4096, 8192],
        [1, 3]
      ]) {
        if (at - before < 0 || at - before + length > SIZE) continue
        const offset = at - before
        const v = api.open(p, Uint8Array, 'r', { offset, length })
        assert.is(v.length, length)
        assert.is(v[before], byte, `marker at ${at} through { offset: ${offset}, length: ${length} }`)
        sameBytes(v, readAt(p, offset, length), `window { offset: ${offset}, length: ${length} }`)
        assert.is(api.info(v).offset, offset, 'info().offset')
        api.close(v)
      }
    }
  })

  s('typed and struct views across 2^32 at odd offsets', () => {
    const u = api.open(p, Uint32Array, 'r', { offset: 2 ** 32 - 1, length: 8 })
    assert.is(u.length, 2)
    assert.is(u[0], 0xa3 | (0xa4 << 8) | (0xa5 << 16), 'u32 over 2^32 - 1 .. 2^32 + 2')
    api.close(u)
    const T = api.struct({ a: 'u16', b: 'u8' })
    const sv = api.open(p, T, 'r', { offset: 2 ** 31 - 2, length: 9 })
    assert.is(sv.length, 2)
    assert.is(sv.at(0).a, 0xa1 << 8, 'u16 at 2^31 - 2')
    assert.is(sv.at(0).b, 0xa2, 'u8 at 2^31')
    api.close(sv)
  })

  s('a window ending at the end of the file, and an offset equal to the size (empty)', () => {
    const v = api.open(p, Uint8Array, 'r', { offset: SIZE - 10 })
    assert.is(v.length, 10)
    assert.is(v[9], 0xa6)
    api.close(v)
    const e = api.open(p, Uint8Array, 'r', { offset: SIZE })
    assert.is(e.length, 0)
    api.close(e)
  })

  s("'rw' windows across 2^31 and 2^32 write exactly their bytes", () => {
    for (const at of [2 ** 31 - 2, 2 ** 32 - 2, 5 * GiB + 3]) {
      const before = readAt(p, at - 8, 20)
      const v = api.open(p, Uint8Array, 'rw', { offset: at, length: 4 })
      v.set([1, 2, 3, 4])
      api.close(v)
      const expected = before.slice()
      expected.set([1, 2, 3, 4], 8)
      sameBytes(readAt(p, at - 8, 20), expected, `bytes around ${at} after writing 4 at ${at}`)
      // put the markers back for the other tests
      const fd = fs.openSync(p, 'r+')
      fs.writeSync(fd, before, 0, before.length, at - 8)
      fs.closeSync(fd)
    }
    assert.is(fs.statSync(p).size, SIZE, 'the file keeps its size')
  })

  s('a window near the end of a 6 GiB file through a typed array writes at the right place', () => {
    const at = 4 * GiB + 12345
    const v = api.open(p, Float64Array, 'rw', { offset: at, length: 16 })
    v[1] = -2.5
    api.sync(v)
    sameBytes(readAt(p, at + 8, 8), bytesOf(new Float64Array([-2.5])), 'f64 at 4 GiB + 12353')
    v[1] = 0
    api.close(v)
  })
}
