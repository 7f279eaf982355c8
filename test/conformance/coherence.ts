// Nothing lost between views of one file in one process (API.md, "Semantics both backends keep"):
// every byte written through any 'rw'/create view is in the file once that view was synced or
// closed, whatever the other views of the file do; after a sync or close, the other open 'rw' views
// show its changes but for bytes they changed themselves and have not synced. Native: at once (one
// page cache); wasm: at the write-back, by device and inode, across every entry point and build.
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { entry } from './ctx'
import type { Ctx } from './ctx'
import {
  assertChildOk,
  childPrelude,
  childReport,
  expectThrow,
  fileBytes,
  fileWith,
  heldSnapshot,
  lacking,
  pattern,
  runChild,
  sameBytes,
  tmpFile,
  writeAt
} from '../helpers'

const CHUNK = 65536

/** Runs `source` in a child process on the entry under test; its report. */
function childRunner(ctx: Ctx): (what: string, source: string, args?: string[]) => Promise<any> {
  return async function child(what: string, source: string, args: string[] = []): Promise<any> {
    const r = await runChild(childPrelude(entry(ctx)) + source, { args })
    assertChildOk(r, what)
    return childReport(r, what)
  }
}

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} views of one file keep each other's writes`)
  sharedChunks(s, ctx)
  windowsAndCollection(s, ctx)
  registriesAndLifetimes(s, ctx)
  forgedTypes(s, ctx)
  s.run()
}

/** 'rw' views of one file whose writes share chunks. */
function sharedChunks(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s("two 'rw' views of the whole file: both one's and the other's writes survive, closed in either order", () => {
    for (const order of ['a first', 'b first']) {
      const data = pattern(3 * CHUNK, 31)
      const p = fileWith(data)
      const a = api.open(p, Uint8Array, 'rw')
      const b = api.open(p, Uint8Array, 'rw')
      a[10] = data[10] ^ 1 // the same chunk as b's
      b[20] = data[20] ^ 2
      a[2 * CHUNK + 5] = data[2 * CHUNK + 5] ^ 3
      if (order === 'a first') {
        api.close(a)
        api.close(b)
      } else {
        api.close(b)
        api.close(a)
      }
      const expected = data.slice()
      expected[10] ^= 1
      expected[20] ^= 2
      expected[2 * CHUNK + 5] ^= 3
      sameBytes(fileBytes(p), expected, `closing ${order}`)
    }
  })

  s('a header window and a records window in one chunk, apart or overlapping: every write survives', () => {
    for (const headerLength of [4096, 4096 + 100]) {
      for (const order of ['header first', 'records first']) {
        const data = pattern(2 * CHUNK, 32)
        const p = fileWith(data)
        const header = api.open(p, Uint32Array, 'rw', { offset: 0, length: headerLength })
        const records = api.open(p, Uint8Array, 'rw', { offset: 4096 })
        header[0] = 0xdeadbeef
        header[1] = header[1] + 1
        records[1] = 0x42
        records[CHUNK] = 0x43
        const expected = data.slice()
        new DataView(expected.buffer).setUint32(0, 0xdeadbeef, true)
        new DataView(expected.buffer).setUint32(4, (new DataView(data.buffer).getUint32(4, true) + 1) >>> 0, true)
        expected[4097] = 0x42
        expected[4096 + CHUNK] = 0x43
        if (order === 'header first') {
          api.close(header)
          api.close(records)
        } else {
          api.close(records)
          api.close(header)
        }
        sameBytes(fileBytes(p), expected, `header of ${headerLength} bytes, closing ${order}`)
      }
    }
  })

  s("after a sync, the other 'rw' views show its changes, but for bytes they changed and have not synced", () => {
    const data = pattern(3 * CHUNK, 33)
    const p = fileWith(data)
    const a = api.open(p, Uint8Array, 'rw')
    const b = api.open(p, Uint8Array, 'rw', { offset: 100, length: 2 * CHUNK })
    const snapshot = api.open(p, Uint8Array, 'r')
    const [x, y, z, w] = [data[105] ^ 1, data[106] ^ 2, data[106] ^ 3, data[107] ^ 4]
    a[105] = x // b shows it after a's sync
    a[106] = y // b writes it afterwards: b's value wins (last written, and last synced)
    b[6] = z // (file offset 106)
    b[7] = w // only b (file offset 107)
    api.sync(a)
    assert.is(b[5], x, "b shows a's synced byte")
    assert.is(b[6], z, 'b keeps the byte it changed itself')
    assert.is(b[7], w)
    if (!api.capabilities.coherent) {
      assert.is(snapshot[105], data[105], "an 'r' view stays the snapshot taken at open (wasm)")
      assert.is(a[107], data[107], "a does not show b's unsynced byte (wasm)")
    }
    api.sync(b)
    assert.is(a[106], z, "a shows b's byte once b synced")
    assert.is(a[107], w)
    const expected = data.slice()
    expected[105] = x
    expected[106] = z
    expected[107] = w
    sameBytes(fileBytes(p), expected, 'the file after both syncs')
    api.close(a)
    api.close(b)
    api.close(snapshot)
    sameBytes(fileBytes(p), expected, 'the file after both closes')
  })
}

/** Unaligned windows, writes over view.buffer, and a gc view written back when collected. */
function windowsAndCollection(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const child = childRunner(ctx)
  s('unaligned windows across chunk boundaries, of every element type: nothing lost, the overlap shown', () => {
    const data = pattern(4 * CHUNK, 34)
    const p = fileWith(data)
    const a = api.open(p, Uint8Array, 'rw', { offset: 100, length: 3 * CHUNK })
    const b = api.open(p, Float64Array, 'rw', { offset: CHUNK - 56, length: CHUNK + 64 })
    const c = api.open(p, Uint16Array, 'rw', { offset: 2 * CHUNK - 1, length: 2 * CHUNK })
    const expected = data.slice()
    const put = (at: number, value: number): void => {
      expected[at] = value
    }
    a[CHUNK - 101] = 7
    put(CHUNK - 1, 7) // inside b's window too
    b[1] = 1.5
    new DataView(expected.buffer).setFloat64(CHUNK - 48, 1.5, true)
    c[1] = 0xabcd
    new DataView(expected.buffer).setUint16(2 * CHUNK + 1, 0xabcd, true)
    a[3 * CHUNK - 1] = 9
    put(3 * CHUNK + 99, 9) // inside c's window
    api.sync(b)
    assert.is(a[CHUNK - 48 - 100 + 1], expected[CHUNK - 47], "a shows b's synced bytes")
    api.sync(c)
    assert.is(a[2 * CHUNK + 1 - 100], 0xcd, "a shows c's synced bytes")
    api.close(a)
    api.close(c)
    api.close(b)
    sameBytes(fileBytes(p), expected, 'the file')
  })

  s('writing over view.buffer outside the view never rewrites what the view did not change', () => {
    const data = pattern(3 * CHUNK, 35)
    const p = fileWith(data)
    const a = api.open(p, Uint8Array, 'rw', { offset: 10, length: 3 * CHUNK - 20 })
    const b = api.open(p, Uint8Array, 'rw')
    // Everything in a's buffer but a's window (on wasm the buffer is the instance's memory).
    const all = new Uint8Array(a.buffer)
    all.fill(0xee, 0, a.byteOffset)
    all.fill(0xee, a.byteOffset + a.byteLength)
    a[5] = 0x11 // one change of a's, in chunk 0
    b[2 * CHUNK + 3] = 0x22 // another view's, in chunk 2, closed first
    api.close(b)
    writeAt(p, CHUNK + 7, new Uint8Array([0x33])) // another writer's (a plain write: another process)
    api.close(a)
    const expected = data.slice()
    expected[15] = 0x11
    expected[2 * CHUNK + 3] = 0x22
    expected[CHUNK + 7] = 0x33
    sameBytes(fileBytes(p), expected, 'the file')
  })

  s(
    'a dropped, unsynced gcopen view written back when collected keeps a newer synced write beside it (child process)',
    async () => {
      const data = pattern(2 * CHUNK, 36)
      const p = fileWith(data)
      const fdsOf =
        "(p) => fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) === p } catch { return false } }).length"
      // Where the child cannot see its descriptors (Windows, a permission model), it waits for the
      // dropped view's byte to reach the file instead: its write-back, the step under test.
      const out = await child(
        'gcopen dropped unsynced',
        `
const [p] = args
const fdsOf = ${fdsOf}
;(() => { const d = m.gcopen(p, Uint8Array, 'rw'); d[5] = 0x55 })()
const e = m.open(p, Uint8Array, 'rw')
e[6] = 0x66
m.sync(e)
await collectUntil(() => seesProc ? fdsOf(p) === 1 : fs.readFileSync(p)[5] === 0x55)
const file = new Uint8Array(fs.readFileSync(p))
report({ five: file[5], six: file[6], fds: seesProc ? fdsOf(p) : null, eSix: e[6], eFive: e[5] })
m.close(e)
`,
        [p]
      )
      assert.is(
        out.fds,
        lacking('child-proc') === null ? 1 : null,
        "the dropped view's descriptor was closed once collected"
      )
      assert.is(out.five, 0x55, "the dropped view's byte was written back when collected")
      assert.is(out.six, 0x66, "the other view's newer synced byte survived that write-back")
      assert.is(out.eSix, 0x66)
      const file = fileBytes(p)
      assert.is(file[5], 0x55)
      assert.is(file[6], 0x66)
    }
  )
}

/** Every entry's views accepted by the others, and the bytes of a gc view kept alive. */
function registriesAndLifetimes(s: Test, ctx: Ctx): void {
  const child = childRunner(ctx)
  s(
    "one registry per backend: ESM and CommonJS, mmapfile and mmapfile/<backend>, accept each other's views (child process)",
    async () => {
      const data = pattern(CHUNK + 10, 37)
      const p = fileWith(data)
      const out = await child(
        'ESM and CommonJS in one process',
        `
import { createRequire } from 'node:module'
const [p] = args
const cjs = createRequire(import.meta.url)(${JSON.stringify(entry(ctx))})
const unified = await import('mmapfile')
const attempt = (fn) => { try { return fn() ?? 'ok' } catch (e) { return e.code ?? e.name } }
const v = m.open(p, Uint8Array, 'rw')
const w = cjs.open(p, Uint8Array, 'rw')
v[1] = 0x71
w[2] = 0x72
const out = {
  info: attempt(() => cjs.info(v).mode),
  unifiedInfo: unified.backend === m.backend ? attempt(() => unified.info(w).mode) : 'rw',
  create: attempt(() => cjs.create(p, 1)),
  createEsm: attempt(() => m.create(p, 1))
}
m.sync(v)
out.shown = w[1]
cjs.close(v)
m.close(w)
out.closedInfo = attempt(() => m.info(w))
const f = new Uint8Array(fs.readFileSync(p))
out.file = [f[1], f[2]]
report(out)
`,
        [p]
      )
      assert.equal(out, {
        info: 'rw',
        unifiedInfo: 'rw',
        create: 'EBUSY',
        createEsm: 'EBUSY',
        shown: 0x71,
        closedInfo: 'ERR_MMAPFILE_CLOSED',
        file: [0x71, 0x72]
      })
    }
  )

  s(
    'the bytes of a gc view live as long as anything refers to them: a Buffer over them keeps reading (child process)',
    async () => {
      const data = pattern(2 * CHUNK, 38)
      const p = fileWith(data)
      const out = await child(
        'a Buffer over a gc view',
        `
const [p] = args
// In a function of its own, so that no stack slot of the caller holds the Buffer afterwards (Bun's
// collector scans the stack conservatively: with the Buffer in a variable here, set to null, the
// mapping stayed after 300 collections, measured with Bun 1.4.5).
async function useBuffer () {
  const buffer = (() => {
    const v = m.gcopen(p, Uint8Array, 'rw')
    const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength)
    b[0] = 0x99
    return b
  })()
  await collect(10)
  const file = new Uint8Array(fs.readFileSync(p))
  return { length: buffer.length, first: buffer[0], second: buffer[1], last: buffer[buffer.length - 1], fileFirst: file[0] }
}
const out = await useBuffer()
// where the child cannot see its mappings (Windows, a permission model), that one check is left out
if (seesProc) await collectUntil(() => maps(p).length === 0)
out.mapped = seesProc ? maps(p).length : null
report(out)
`,
        [p]
      )
      assert.is(out.length, 2 * CHUNK, 'the Buffer was not emptied by the collection of the view')
      assert.is(out.first, 0x99)
      assert.is(out.second, data[1])
      assert.is(out.last, data[2 * CHUNK - 1])
      assert.is(out.fileFirst, 0x99, 'what was written through the Buffer reached the file')
      if (ctx.backend === 'native')
        assert.is(out.mapped, lacking('child-proc') === null ? 0 : null, 'unmapped once the Buffer was collected too')
      assert.is(fileBytes(p)[0], 0x99)
    }
  )
}

/** Struct types struct() did not make. */
function forgedTypes(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s(
    'a struct type that struct() did not make (a Proxy, a forged brand) is a TypeError before the file is touched',
    () => {
      const T = api.struct({ a: 'i32', b: 'f64' })
      const forged = (size: number): object => ({
        [Symbol.for('mmapfile.struct')]: true,
        byteLength: size,
        BYTES_PER_ELEMENT: size,
        alignment: 8,
        fields: [],
        record: class {}
      })
      const held = heldSnapshot()
      for (const [what, type] of [
        ['a Proxy of a real struct type', new Proxy(T, {})],
        ['a forged brand, size 0.5', forged(0.5)],
        ['a forged brand, size -8', forged(-8)],
        ['a forged brand, size 16', forged(16)]
      ] as Array<[string, unknown]>) {
        const p = tmpFile()
        expectThrow(
          () => api.create(p, 2, type),
          { type: TypeError, code: 'ERR_INVALID_ARG_TYPE' },
          `create with ${what}`
        )
        expectThrow(
          () => api.gccreate(p, 2, type),
          { type: TypeError, code: 'ERR_INVALID_ARG_TYPE' },
          `gccreate with ${what}`
        )
        assert.not.ok(fs.existsSync(p), `create with ${what}: no file left`)
        const q = fileWith(32)
        expectThrow(
          () => api.open(q, type, 'rw'),
          { type: TypeError, code: 'ERR_INVALID_ARG_TYPE' },
          `open with ${what}`
        )
        expectThrow(() => api.malloc(2, type), { type: TypeError, code: 'ERR_INVALID_ARG_TYPE' }, `malloc with ${what}`)
        const c = api.create(p, 1) // the path is free: nothing held it
        api.close(c)
      }
      held('after the refused types')
    }
  )
}
