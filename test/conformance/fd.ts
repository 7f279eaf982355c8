// open(fd | FileHandle, type?, mode?, options?) and gcopen of the same: the view does not own the
// descriptor (closing either leaves the other whole), the descriptor's access decides the mode, and a
// file that later takes the descriptor's number never receives the view's write-back.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import * as path from 'node:path'
import { execFileSync } from 'node:child_process'
import { entry } from './ctx'
import type { Ctx } from './ctx'
import type { Need } from '../helpers'
import {
  assertChildOk,
  childPrelude,
  childReport,
  expectThrow,
  fds,
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
  tmpDir,
  tmpFile
} from '../helpers'

// Where /proc/self/fd does not show this process's descriptors (Windows: Wine shows node.exe the Unix
// side's; a permission model that does not allow reading it), the checks below that use it check
// nothing: each is one assertion among others (as assertNothingHeld in ../helpers).
const seesFds = lacking('proc') === null

/** The descriptors of this process (numbers and what they are), to find one left open by a failure. */
function allFds(): Set<string> {
  return new Set(seesFds ? fds() : [])
}

function assertNoNewFds(before: Set<string>, what: string): void {
  if (!seesFds) return
  assert.equal(
    fds().filter((fd) => !before.has(fd)),
    [],
    `${what}: descriptors left open`
  )
}

/** Whether the descriptor is open (and on the same file as when it was opened, if `p` is given and /proc shows it). */
function isOpen(fd: number, p?: string): boolean {
  try {
    fs.fstatSync(fd)
  } catch {
    return false
  }
  return p === undefined || !seesFds || fs.readlinkSync(`/proc/self/fd/${fd}`) === p
}

export default function register(ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const native = ctx.backend === 'native'
  const s = suite(`${ctx.label} open(fd)`)
  // The wasm host maps a descriptor by opening /proc/self/fd/N again (src/wasm/node-host.ts): where it
  // cannot, the cases that map one are skipped, and the last case checks the error instead.
  const reopen: Need[] = native ? [] : ['fd-reopen']
  const reopenInChild: Need[] = native ? [] : ['child-fd-reopen']
  const mapsFds = requires(s, ...reopen)

  // --- errors first
  s('a number that is not a descriptor (negative, fractional, NaN, past 2^31 - 1) is a RangeError', () => {
    const before = allFds()
    for (const fd of [-1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 53]) {
      for (const fn of ['open', 'gcopen']) {
        expectThrow(() => api[fn](fd), { type: RangeError }, `${fn}(${fd})`)
      }
    }
    expectThrow(() => api.open({ fd: 1.5, close() {} }), { type: RangeError }, 'open({ fd: 1.5, close })')
    expectThrow(() => api.open(3n), { type: TypeError }, 'open(3n)')
    assertNoNewFds(before, 'after the bad numbers')
  })

  s('a closed descriptor is EBADF, and the message names it', () => {
    const fd = fs.openSync(fileWith(10), 'r')
    fs.closeSync(fd)
    for (const mode of ['r', 'rw']) {
      const e = expectThrow(
        () => api.open(fd, Uint8Array, mode),
        { type: Error, code: 'EBADF' },
        `open(<closed fd>, Uint8Array, '${mode}')`
      )
      assert.ok(e.message.startsWith('mmapfile.open: EBADF') && e.message.endsWith(`fd ${fd}`), e.message)
      assert.is((e as { path?: unknown }).path, undefined, 'no path')
    }
  })

  s('a FileHandle closed before is EBADF', async () => {
    const handle = await fsp.open(fileWith(10), 'r')
    await handle.close()
    expectThrow(() => api.open(handle), { type: Error, code: 'EBADF' }, 'open(<closed FileHandle>)')
    expectThrow(
      () => api.gcopen(handle, Uint8Array, 'rw'),
      { type: Error, code: 'EBADF' },
      'gcopen(<closed FileHandle>)'
    )
  })

  mapsFds(
    "the descriptor's access decides: 'rw' of a read-only or append-only one, anything of a write-only one, is EACCES",
    () => {
      for (const size of [100, 0]) {
        const p = fileWith(size)
        const held = heldSnapshot()
        const cases: Array<[string, string | number, string[]]> = [
          ["'r'", 'r', ['rw']],
          ["'a+' (O_APPEND)", 'a+', ['rw']],
          ['O_WRONLY', fs.constants.O_WRONLY, ['r', 'rw']],
          ["'a' (O_WRONLY | O_APPEND)", 'a', ['r', 'rw']]
        ]
        for (const [name, flags, refused] of cases) {
          const fd = fs.openSync(p, flags)
          try {
            for (const mode of refused) {
              const e = expectThrow(
                () => api.open(fd, Uint8Array, mode),
                { type: Error, code: 'EACCES' },
                `open(<${name} fd of ${size} bytes>, Uint8Array, '${mode}')`
              )
              assert.ok(e.message.startsWith('mmapfile.open: EACCES'), e.message)
            }
            if (!refused.includes('r')) api.close(api.open(fd, Uint8Array, 'r'))
            assert.ok(isOpen(fd, p), `the ${name} descriptor is still open`)
          } finally {
            fs.closeSync(fd)
          }
        }
        held(`after the refused opens of a ${size}-byte file`)
        assert.is(fileSize(p), size, 'the file is as it was')
      }
    }
  )

  requires(
    s,
    ...reopen,
    'posix-tools',
    'dev-null'
  )("a directory is EISDIR ('r'; 'rw' is EACCES: its descriptor is read-only); a FIFO and /dev/null are ENODEV", () => {
    const fifo = path.join(tmpDir, `fifo-${process.pid}-${ctx.backend}`)
    execFileSync('mkfifo', [fifo]) // first: Bun's child_process keeps a socket open after it
    const before = allFds()
    const dir = fs.openSync(tmpDir, 'r')
    try {
      expectThrow(() => api.open(dir), { type: Error, code: 'EISDIR' }, 'open(<directory fd>)')
      expectThrow(
        () => api.open(dir, Uint8Array, 'rw'),
        { type: Error, code: 'EACCES' },
        "open(<directory fd>, Uint8Array, 'rw')"
      )
    } finally {
      fs.closeSync(dir)
    }
    const f = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK)
    const nul = fs.openSync('/dev/null', 'r+')
    try {
      for (const mode of ['r', 'rw']) {
        expectThrow(
          () => api.open(f, Uint8Array, mode),
          { type: Error, code: 'ENODEV' },
          `open(<fifo fd>, Uint8Array, '${mode}')`
        )
        expectThrow(
          () => api.open(nul, Uint8Array, mode),
          { type: Error, code: 'ENODEV' },
          `open(</dev/null fd>, Uint8Array, '${mode}')`
        )
      }
    } finally {
      fs.closeSync(f)
      fs.closeSync(nul)
      fs.rmSync(fifo)
    }
    assertNoNewFds(before, 'after the refused opens')
  })

  requires(s, 'proc')(
    'every descriptor this process holds (pipes, sockets, eventfd, epoll, stdio): a view or an error with a code, never a crash or a leak',
    () => {
      const before = allFds()
      for (const entry of before) {
        const fd = Number(entry.split(' ')[0])
        for (const mode of ['r', 'rw']) {
          let view: unknown = null
          try {
            view = api.open(fd, Uint8Array, mode, { length: 0 })
          } catch (e) {
            const error = e as { code?: unknown }
            assert.instance(e, Error, `open(${entry}, '${mode}')`)
            assert.type(error.code, 'string', `open(${entry}, '${mode}'): a code`)
            assert.not.instance(e, TypeError, `open(${entry}, '${mode}'): not a TypeError`)
          }
          if (view !== null) api.close(view)
        }
      }
      // Whether each stays open is not asked here: the runtime may close its own meanwhile (Deno does).
      assertNoNewFds(before, 'after mapping every descriptor')
    }
  )

  mapsFds('a window past the end of the file is a RangeError; the descriptor stays open, nothing is held', () => {
    const p = fileWith(100)
    const fd = fs.openSync(p, 'r+')
    const held = heldSnapshot()
    try {
      expectThrow(
        () => api.open(fd, Uint8Array, 'rw', { offset: 101 }),
        { type: RangeError },
        'open(fd, rw, { offset: 101 })'
      )
      expectThrow(
        () => api.open(fd, Uint8Array, 'r', { offset: 50, length: 51 }),
        { type: RangeError },
        'open(fd, r, { offset: 50, length: 51 })'
      )
      held('after the refused windows')
      assert.ok(isOpen(fd, p))
    } finally {
      fs.closeSync(fd)
    }
  })

  s('create takes no descriptor: a TypeError', () => {
    const fd = fs.openSync(fileWith(10), 'r+')
    try {
      expectThrow(() => api.create(fd, 10), { type: TypeError }, 'create(fd, 10)')
      expectThrow(() => api.gccreate(fd, 10), { type: TypeError }, 'gccreate(fd, 10)')
    } finally {
      fs.closeSync(fd)
    }
  })

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

  s.run()
}
