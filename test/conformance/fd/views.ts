// open(fd): views of a descriptor, which they do not own, and what is left once they are closed.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import { entry } from '../ctx'
import type { Ctx } from '../ctx'
import {
  assertChildOk,
  childPrelude,
  childReport,
  expectThrow,
  fileBytes,
  fileSize,
  fileWith,
  heldSnapshot,
  lacking,
  mapsLines,
  pattern,
  requires,
  runChild,
  sameBytes,
  tmpFile
} from '../../helpers'
import { allFds, assertNoNewFds, isOpen, reopenNeeds, seesFds } from './descriptors'

/** The view maps the descriptor's file and does not own the descriptor. */
export function viewsAndOwnership(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const { reopen } = reopenNeeds(ctx)
  const mapsFds = requires(s, ...reopen)
  // --- happy path
  mapsFds("open(fd) maps the file 'r' by default, any window; info() has path null and the fd", () => {
    const bytes = pattern(3 * PAGE + 5, 61)
    const p = fileWith(bytes)
    const fd = fs.openSync(p, 'r+')
    try {
      const v = api.open(fd)
      assert.instance(v, Uint8Array)
      sameBytes(v, bytes, 'whole file')
      assert.equal(api.info(v), {
        path: null,
        mode: 'r',
        offset: 0,
        byteLength: bytes.length,
        backend: ctx.backend,
        fd
      })
      v[0] ^= 0xff // 'r' is private
      api.close(v)
      const w = api.open(fd, Int16Array, 'rw', { offset: PAGE + 1, length: 10 })
      assert.is(w.length, 5)
      assert.equal(api.info(w), { path: null, mode: 'rw', offset: PAGE + 1, byteLength: 10, backend: ctx.backend, fd })
      sameBytes(new Uint8Array(w.buffer, w.byteOffset, 10), bytes.subarray(PAGE + 1, PAGE + 11), 'window')
      api.close(w)
      sameBytes(fileBytes(p), bytes, 'the file: nothing written')
    } finally {
      fs.closeSync(fd)
    }
  })

  mapsFds('the view does not own the descriptor: closing the view leaves it open and usable', () => {
    const p = fileWith(pattern(100, 62))
    const fd = fs.openSync(p, 'r+')
    try {
      for (const mode of ['r', 'rw']) {
        const v = api.open(fd, Uint8Array, mode)
        api.close(v)
        assert.ok(isOpen(fd, p), `after close of a '${mode}' view`)
        const got = Buffer.alloc(4)
        assert.is(fs.readSync(fd, got, 0, 4, 0), 4)
      }
      const empty = api.open(fd, Uint8Array, 'rw', { offset: 100 })
      assert.is(empty.length, 0)
      api.close(empty)
      assert.ok(isOpen(fd, p), 'after close of an empty view')
    } finally {
      fs.closeSync(fd)
    }
  })

  mapsFds("the descriptor closed under a live view: the view reads, writes, syncs and closes; 'r' views too", () => {
    const bytes = pattern(2 * PAGE, 63)
    const p = fileWith(bytes)
    const fd = fs.openSync(p, 'r+')
    const v = api.open(fd, Uint8Array, 'rw', { offset: 3 })
    const r = api.open(fd, Uint8Array, 'r')
    fs.closeSync(fd)
    sameBytes(r, bytes, "the 'r' view")
    v[0] = 0xaa
    v[PAGE] = 0xbb
    api.sync(v)
    const expected = bytes.slice()
    expected[3] = 0xaa
    expected[PAGE + 3] = 0xbb
    sameBytes(fileBytes(p), expected, 'after sync')
    v[1] = 0xcc
    expected[4] = 0xcc
    api.close(v)
    api.close(r)
    sameBytes(fileBytes(p), expected, 'after close')
  })

  mapsFds("a file that takes the closed descriptor's number never receives the view's write-back", () => {
    const p = fileWith(pattern(PAGE, 64))
    const q = tmpFile()
    const fd = fs.openSync(p, 'r+')
    const v = api.open(fd, Uint8Array, 'rw')
    fs.closeSync(fd)
    const reused = fs.openSync(q, 'w+') // the lowest free number: fd's, unless another thread took it
    try {
      fs.writeSync(reused, Buffer.from('the other file'))
      v.fill(0x11)
      api.sync(v)
      api.sync(v, { durable: false })
      v[7] = 0x22
      api.close(v)
      assert.is(
        fs.readFileSync(q, 'utf8'),
        'the other file',
        `the file at the reused number${reused === fd ? '' : ' (not reused this time)'}`
      )
      const expected = new Uint8Array(PAGE).fill(0x11)
      expected[7] = 0x22
      sameBytes(fileBytes(p), expected, 'the mapped file')
    } finally {
      fs.closeSync(reused)
    }
  })
}

/** A FileHandle, views of the descriptor and of the path, resize. */
export function viewsAndFiles(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const native = ctx.backend === 'native'
  const { reopen } = reopenNeeds(ctx)
  const mapsFds = requires(s, ...reopen)

  mapsFds('a FileHandle: mapped as its descriptor, closed under the live view', async () => {
    const bytes = pattern(PAGE + 9, 65)
    const p = fileWith(bytes)
    const handle = await fsp.open(p, 'r+')
    const fd = handle.fd
    const v = api.open(handle, Uint32Array, 'rw', { offset: 1, length: 8 })
    assert.equal(api.info(v), { path: null, mode: 'rw', offset: 1, byteLength: 8, backend: ctx.backend, fd })
    const g = api.gcopen(handle)
    sameBytes(g, bytes, 'gcopen(FileHandle)')
    await handle.close()
    v[1] = 0x01020304
    api.close(v)
    api.close(g)
    const expected = bytes.slice()
    expected.set([4, 3, 2, 1], 5)
    sameBytes(fileBytes(p), expected, 'the file')
  })

  mapsFds("'rw' views of a descriptor and of the path are one file: EBUSY and coherence hold between them", () => {
    const bytes = pattern(2 * PAGE, 66)
    const p = fileWith(bytes)
    const fd = fs.openSync(p, 'r+')
    const byFd = api.open(fd, Uint8Array, 'rw')
    fs.closeSync(fd)
    const held = heldSnapshot()
    expectThrow(
      () => api.create(p, 10),
      { type: Error, code: 'EBUSY' },
      'create(<path of a live view of a descriptor>)'
    )
    held('after the refused create')
    sameBytes(fileBytes(p), bytes, 'the file is whole')
    const byPath = api.open(p, Uint8Array, 'rw')
    byFd[10] = 0x5a
    if (!native) api.sync(byFd)
    assert.is(
      byPath[10],
      0x5a,
      "the path view shows the descriptor view's write (native: at once; wasm: after its sync)"
    )
    byPath[PAGE] = 0xa5
    if (!native) api.sync(byPath)
    assert.is(byFd[PAGE], 0xa5, 'and the other way')
    expectThrow(
      () => api.resize(byPath, 10),
      { type: Error, code: 'EBUSY' },
      'a resize that would cut the descriptor view'
    )
    api.close(byPath)
    api.close(byFd)
    const expected = bytes.slice()
    expected[10] = 0x5a
    expected[PAGE] = 0xa5
    sameBytes(fileBytes(p), expected, 'the file')
  })

  mapsFds("resize of an 'rw' view of a descriptor sizes the file; the descriptor stays the caller's", () => {
    const p = fileWith(pattern(100, 67))
    const fd = fs.openSync(p, 'r+')
    try {
      const v = api.open(fd, Uint8Array, 'rw', { offset: 10 })
      const w = api.resize(v, PAGE)
      assert.is(w.length, PAGE)
      w[PAGE - 1] = 9
      api.close(w)
      assert.is(fileSize(p), 10 + PAGE)
      assert.is(fileBytes(p)[10 + PAGE - 1], 9)
      assert.ok(isOpen(fd, p))
      assert.is(fs.fstatSync(fd).size, 10 + PAGE, "the caller's descriptor sees the new size")
    } finally {
      fs.closeSync(fd)
    }
  })
}

/** Descriptors in child processes, nothing left after close, and where the wasm host cannot open one again. */
export function viewsInChildrenAndLeftovers(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const native = ctx.backend === 'native'
  const { reopen, reopenInChild } = reopenNeeds(ctx)
  const mapsFds = requires(s, ...reopen)

  requires(s, ...reopenInChild)(
    "gcopen(fd): once collected the mapping is gone and 'rw' data is in the file; the descriptor stays open",
    async () => {
      const p = fileWith(new Uint8Array(PAGE))
      // where the child cannot see its mappings (Windows, a permission model), it waits for the byte alone
      const r = await runChild(
        `${childPrelude(entry(ctx))}
const p = args[0]
const fd = fs.openSync(p, 'r+')
;(() => { const v = m.gcopen(fd, Uint8Array, 'rw'); v[5] = 55 })()
await collectUntil(() => fs.readFileSync(p)[5] === 55 && (!seesProc || maps(p).length === 0))
const got = Buffer.alloc(8)
fs.readSync(fd, got, 0, 8, 0)
report({ byte: got[5], maps: seesProc ? maps(p).length : null })
`,
        { args: [p] }
      )
      assertChildOk(r, 'gcopen(fd) collected')
      assert.equal(childReport(r, 'gcopen(fd)'), { byte: 55, maps: lacking('child-proc') === null ? 0 : null })
      assert.is(fileBytes(p)[5], 55)
    }
  )

  requires(s, ...reopenInChild)(
    'a view of a descriptor still open at exit keeps its writes, its descriptor closed long before',
    async () => {
      const p = fileWith(new Uint8Array(100))
      const r = await runChild(
        `${childPrelude(entry(ctx))}
const fd = fs.openSync(args[0], 'r+')
const v = globalThis.keep = m.open(fd, Uint8Array, 'rw')
fs.closeSync(fd)
v[42] = 42
`,
        { args: [p] }
      )
      assertChildOk(r, 'exit with a view of a closed descriptor')
      assert.is(fileBytes(p)[42], 42)
    }
  )

  mapsFds('no mapping or descriptor of ours is left once every view of a descriptor is closed', () => {
    const p = fileWith(pattern(PAGE, 68))
    const before = allFds()
    const fd = fs.openSync(p, 'r+')
    const views = [api.open(fd), api.open(fd, Uint8Array, 'rw'), api.gcopen(fd, Uint8Array, 'rw', { offset: 1 })]
    for (const v of views) api.close(v)
    fs.closeSync(fd)
    assertNoNewFds(before, 'after closing the views and the descriptor')
    if (seesFds) assert.equal(mapsLines(p), [], 'mappings of the file')
  })

  if (!native && lacking('fd-reopen') !== null) {
    s(
      "wasm, where a descriptor cannot be opened again through /proc/self/fd: ENOTSUP, or the runtime's own refusal; nothing held, the descriptor stays open",
      () => {
        const bytes = pattern(100, 69)
        const p = fileWith(bytes)
        const fd = fs.openSync(p, 'r+')
        try {
          for (const mode of ['r', 'rw']) {
            for (const fn of ['open', 'gcopen']) {
              let error: unknown = null
              try {
                api.close(api[fn](fd, Uint8Array, mode))
              } catch (e) {
                error = e
              }
              const e = error as { name?: unknown; code?: unknown; message?: unknown } | null
              const what = `${fn}(fd, Uint8Array, '${mode}')`
              assert.instance(e, Error, `${what}: refused`)
              // no /proc (Windows): ENOTSUP; Node's permission model: ERR_ACCESS_DENIED; Deno: NotCapable
              assert.ok(
                e?.code === 'ENOTSUP' || e?.code === 'ERR_ACCESS_DENIED' || e?.name === 'NotCapable',
                `${what}: ${String(e?.name)} [${String(e?.code)}] ${String(e?.message)}`
              )
              assert.ok(
                String(e?.message).startsWith(`mmapfile.${fn}: `),
                `${what}: the message names the function: ${String(e?.message)}`
              )
            }
          }
          assert.ok(isOpen(fd, p), 'the descriptor is still open')
          sameBytes(fileBytes(p), bytes, 'the file is as it was')
        } finally {
          fs.closeSync(fd)
        }
      }
    )
  }
}
