// mmapfile/mmap-io: mmap-io's own test suite (ozra/mmap-io src/test.ls, which @riaskov/mmap-io ships as
// dist/test.js), case by case, as real assertions where it only prints, run through createMmapIo over
// the backend under test; then what mmap-io crashes on, answered safely; then how its Buffers live with
// the rest of mmapfile. Cases that assume two mappings see each other at once sync between them where
// the backend is not coherent (wasm). Cases rewritten, and why, are marked "mmap-io:".
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { Buffer } from 'node:buffer'
import { createMmapIo } from 'mmapfile/mmap-io'
import type { MmapIo } from 'mmapfile/mmap-io'
import { entry } from './ctx'
import type { Ctx } from './ctx'
import {
  assertChildOk,
  assertNothingHeld,
  childPrelude,
  childReport,
  expectThrow,
  fileBytes,
  fileWith,
  lacking,
  pattern,
  requires,
  runChild,
  sameBytes,
  tmpFile
} from '../helpers'
import type { Need } from '../helpers'

/** The values mmap-io exports on Linux (its src/mmap-io.ts types them as these literals). */
const CONSTANTS = {
  PROT_READ: 1,
  PROT_WRITE: 2,
  PROT_EXEC: 4,
  PROT_NONE: 0,
  MAP_SHARED: 1,
  MAP_PRIVATE: 2,
  MAP_NONBLOCK: 65536,
  MAP_POPULATE: 32768,
  MADV_NORMAL: 0,
  MADV_RANDOM: 1,
  MADV_SEQUENTIAL: 2,
  MADV_WILLNEED: 3,
  MADV_DONTNEED: 4
}

export default function register(ctx: Ctx): void {
  const api: any = ctx.api
  const mmap: MmapIo = createMmapIo(api)
  const coherent: boolean = api.capabilities.coherent
  const { PAGESIZE, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_PRIVATE } = mmap
  // mmap-io's test maps its own script (some 5 KB): here a file of the same kind, two pages and a bit.
  const script = pattern(2 * PAGESIZE + 123, 81)
  const scriptPath = fileWith(script, 'test.ls')
  // mmap-io maps descriptors only, which the wasm host opens again through /proc/self/fd: where it
  // cannot, the cases that map are skipped (the open(fd) suite checks the error there).
  const reopen: Need[] = ctx.backend === 'wasm' ? ['fd-reopen'] : []
  const reopenInChild: Need[] = ctx.backend === 'wasm' ? ['child-fd-reopen'] : []

  // ---------------------------------------------------------------------------------------------
  const t = suite(`${ctx.label} mmap-io's test suite`)
  const tMaps = requires(t, ...reopen)

  t('"mmap in test is": the module has map, advise, sync, incore, PAGESIZE and mmap-io\'s constants', () => {
    for (const fn of ['map', 'advise', 'sync', 'incore', 'unmap'] as const) assert.type(mmap[fn], 'function', fn)
    for (const [name, value] of Object.entries(CONSTANTS)) assert.is((mmap as any)[name], value, name)
    assert.is(mmap.PAGESIZE, api.PAGE_SIZE)
  })

  t('"tries to overwrite PAGESIZE with 47": silently kept (a TypeError in strict code)', () => {
    try {
      ;(mmap as any).PAGESIZE = 47
    } catch (e) {
      assert.instance(e, TypeError)
    }
    assert.is(mmap.PAGESIZE, PAGESIZE)
  })

  /** Runs `use` with the script open 'r', as mmap-io's test opens it, and its size. */
  function withScript(use: (fd: number, size: number) => void): void {
    const fd = fs.openSync(scriptPath, 'r')
    try {
      use(fd, fs.fstatSync(fd).size)
    } finally {
      fs.closeSync(fd)
    }
  }

  tMaps(
    '"full 6-arg call": map(size, PROT_READ, MAP_SHARED, fd, 0, MADV_SEQUENTIAL) is a Buffer of size bytes, the file\'s',
    () => {
      withScript((fd, size) => {
        const buffer = mmap.map(size, PROT_READ, MAP_SHARED, fd, 0, mmap.MADV_SEQUENTIAL)
        assert.is(buffer.length, size)
        assert.ok(Buffer.isBuffer(buffer), 'a Buffer')
        sameBytes(buffer, script, 'the bytes')
        mmap.unmap(buffer)
      })
    }
  )

  tMaps('"give advise with 2 args", "with 4 args", read backwards, incore, out of bounds', () => {
    withScript((fd, size) => {
      const buffer = mmap.map(size, PROT_READ, MAP_SHARED, fd, 0, mmap.MADV_SEQUENTIAL)
      mmap.advise(buffer, mmap.MADV_NORMAL)
      mmap.advise(buffer, 0, mmap.PAGESIZE, mmap.MADV_NORMAL)
      // "read byte for byte backwards and see that nothing explodes"
      let out = ''
      for (let ix = size - 1; ix >= 0; ix--) out += String.fromCharCode(buffer[ix])
      assert.is(out.length, size)
      assert.is(out.charCodeAt(0), script[size - 1])
      // mmap-io: incore after reading it all is [0 unmapped, 2 mapped] for its 2-page script; every page here
      assert.equal(mmap.incore(buffer), [0, Math.ceil(size / PAGESIZE)])
      // "read out of bounds test"
      assert.is(typeof buffer[size + 47], 'undefined')
      mmap.unmap(buffer)
    })
  })

  tMaps(
    'mmap-io: "Try to write to read buffer" (commented out there: a SIGSEGV) stays in memory here, the file unchanged',
    () => {
      withScript((fd, size) => {
        const buffer = mmap.map(size, PROT_READ, MAP_SHARED, fd)
        buffer[0] = 47
        buffer[size - 1] = 48
        assert.is(buffer[0], 47)
        assert.is(buffer[size - 1], 48)
        mmap.sync(buffer)
        mmap.unmap(buffer)
      })
      sameBytes(fileBytes(scriptPath), script, 'the file')
    }
  )

  tMaps('"5-arg map call" and "4-arg map call": size bytes', () => {
    withScript((fd, size) => {
      const five = mmap.map(size, PROT_READ, MAP_SHARED, fd, 0)
      const four = mmap.map(size, PROT_READ, MAP_SHARED, fd)
      assert.is(five.length, size)
      assert.is(four.length, size)
      sameBytes(four, script, 'the 4-arg buffer')
      mmap.unmap(five)
      mmap.unmap(four)
    })
  })

  tMaps(
    'mmap-io: "buflen test 3", map(size, ..., fd, PAGESIZE) past the end of the file, is a RangeError here (there a read of the tail is a SIGBUS); inside the file it maps',
    () => {
      withScript((fd, size) => {
        const e = expectThrow(
          () => mmap.map(size, PROT_READ, MAP_SHARED, fd, PAGESIZE),
          { type: RangeError },
          'map(size, ..., PAGESIZE)'
        )
        assert.match(e.message, /beyond the end of the file/)
        const inside = mmap.map(size - PAGESIZE, PROT_READ, MAP_SHARED, fd, PAGESIZE)
        sameBytes(inside, script.subarray(PAGESIZE), 'the window at PAGESIZE')
        mmap.unmap(inside)
      })
    }
  )

  t('"pass faulty arg" map("foo", ...) throws (a TypeError)', () => {
    withScript((fd) => {
      expectThrow(() => mmap.map('foo' as any, PROT_READ, MAP_SHARED, fd, 0), { type: TypeError }, 'map("foo")')
    })
  })

  t('"pass zero size" throws: EINVAL, as mmap(2) answers', () => {
    withScript((fd) => {
      expectThrow(
        () => mmap.map(0, PROT_READ, MAP_SHARED, fd, 0),
        { type: Error, code: 'EINVAL', syscall: 'mmap' },
        'map(0)'
      )
    })
  })

  tMaps('mmap-io: "pass wrong page-size as offset" (EINVAL there) maps here: any offset works', () => {
    withScript((fd, size) => {
      for (const offset of [PAGESIZE - 1, 1, PAGESIZE + 1, size - 1]) {
        const buffer = mmap.map(size - offset, PROT_READ, MAP_SHARED, fd, offset)
        sameBytes(buffer, script.subarray(offset), `offset ${offset}`)
        mmap.unmap(buffer)
      }
    })
  })

  tMaps('"pass faulty arg to advise()" throws (a TypeError)', () => {
    withScript((fd, size) => {
      const buffer = mmap.map(size, PROT_READ, MAP_SHARED, fd)
      expectThrow(() => mmap.advise(buffer, 'fuck off' as any), { type: TypeError }, 'advise(buffer, "...")')
      expectThrow(() => mmap.advise(buffer, 7 as any), { type: TypeError }, 'advise(buffer, 7)')
      mmap.unmap(buffer)
    })
  })

  // "Write tests": one writable and one read-only shared mapping of a 47474-byte file, both descriptors
  // closed at once, then every byte written through one is read through the other.
  tMaps(
    '"write/read tests": a byte written through the PROT_WRITE buffer is read through the PROT_READ one (wasm: after a sync); then "sync() tests x 4"',
    () => {
      const testFile = tmpFile('tmp-mmap-file')
      const testSize = 47474
      fs.writeFileSync(testFile, '')
      fs.truncateSync(testFile, testSize)
      const fdW = fs.openSync(testFile, 'r+')
      const wBuffer = mmap.map(testSize, PROT_WRITE, MAP_SHARED, fdW)
      fs.closeSync(fdW)
      mmap.advise(wBuffer, mmap.MADV_SEQUENTIAL)
      const fdR = fs.openSync(testFile, 'r')
      const rBuffer = mmap.map(testSize, PROT_READ, MAP_SHARED, fdR)
      fs.closeSync(fdR)
      mmap.advise(rBuffer, mmap.MADV_SEQUENTIAL)
      // "verify write and read": byte by byte where views are coherent; a page at a time, each synced, where not
      const step = coherent ? 1 : PAGESIZE
      for (let from = 0; from < testSize; from += step) {
        const to = Math.min(testSize, from + step)
        for (let i = from; i < to; i++) wBuffer[i] = 32 + (i % 60)
        if (!coherent) mmap.sync(wBuffer, from, to - from)
        for (let i = from; i < to; i++)
          if (rBuffer[i] !== 32 + (i % 60)) assert.unreachable(`rBuffer[${i}] is ${rBuffer[i]}`)
      }
      const expected = Uint8Array.from({ length: testSize }, (_, i) => 32 + (i % 60))
      // "1. explicit blocking sync to disk", "2. without offset/length", "3. without blocking/invalidate flags", "4. no additional arguments"
      const syncs: Array<[string, () => void]> = [
        ['sync(w, 0, testSize, true, false)', () => mmap.sync(wBuffer, 0, testSize, true, false)],
        ['sync(w, true, false)', () => mmap.sync(wBuffer, true, false)],
        ['sync(w, 0, testSize)', () => mmap.sync(wBuffer, 0, testSize)],
        ['sync(w)', () => mmap.sync(wBuffer)]
      ]
      for (const [i, [name, call]] of syncs.entries()) {
        wBuffer[i] = 200 + i
        expected[i] = 200 + i
        call()
        sameBytes(fileBytes(testFile), expected, `the file after ${name}`)
        assert.is(rBuffer[i], 200 + i, `the read buffer after ${name}`)
      }
      mmap.unmap(wBuffer)
      mmap.unmap(rBuffer)
      // "Failed to remove test-file": the file is not held
      fs.unlinkSync(testFile)
      assertNothingHeld('after unmap', testFile)
    }
  )

  t.run()

  // ---------------------------------------------------------------------------------------------
  const safe = suite(`${ctx.label} mmap-io: what it crashes on, answered`)
  const safeMaps = requires(safe, ...reopen)

  safe('bad arguments: TypeError for the wrong kind, RangeError out of range; nothing is left', () => {
    const p = fileWith(100)
    const fd = fs.openSync(p, 'r+')
    try {
      const cases: Array<[string, () => unknown, typeof TypeError | typeof RangeError]> = [
        ['protection PROT_NONE', () => mmap.map(10, mmap.PROT_NONE, MAP_SHARED, fd), TypeError],
        ['protection 8', () => mmap.map(10, 8 as any, MAP_SHARED, fd), TypeError],
        ['flags 0', () => mmap.map(10, PROT_READ, 0, fd), TypeError],
        ['flags MAP_SHARED | MAP_PRIVATE', () => mmap.map(10, PROT_READ, MAP_SHARED | MAP_PRIVATE, fd), TypeError],
        ['flags MAP_ANONYMOUS (0x20)', () => mmap.map(10, PROT_READ, MAP_PRIVATE | 0x20, fd), TypeError],
        ['size -1', () => mmap.map(-1, PROT_READ, MAP_SHARED, fd), RangeError],
        ['size 1.5', () => mmap.map(1.5, PROT_READ, MAP_SHARED, fd), RangeError],
        ['fd -1', () => mmap.map(10, PROT_READ, MAP_SHARED, -1), RangeError],
        ["fd '3'", () => mmap.map(10, PROT_READ, MAP_SHARED, '3' as any), TypeError],
        ['offset -1', () => mmap.map(10, PROT_READ, MAP_SHARED, fd, -1), RangeError],
        ['advise 9', () => mmap.map(10, PROT_READ, MAP_SHARED, fd, 0, 9 as any), TypeError],
        ['sync of a plain Buffer', () => mmap.sync(Buffer.alloc(10)), TypeError],
        ['incore of a plain Uint8Array', () => mmap.incore(new Uint8Array(10) as Buffer), TypeError],
        ['unmap of undefined', () => mmap.unmap(undefined as any), TypeError],
        ['advise with 3 arguments', () => (mmap.advise as any)(Buffer.alloc(1), 0, 1), TypeError]
      ]
      for (const [name, call, type] of cases) expectThrow(call, { type }, name)
    } finally {
      fs.closeSync(fd)
    }
    assertNothingHeld('after the refused calls', p)
  })

  safeMaps('PROT_WRITE of a read-only descriptor is EACCES, as mmap-io\'s "permission error (13)"', () => {
    const p = fileWith(100)
    const fd = fs.openSync(p, 'r')
    try {
      expectThrow(
        () => mmap.map(100, PROT_READ | PROT_WRITE, MAP_SHARED, fd),
        { type: Error, code: 'EACCES' },
        'map(PROT_WRITE, MAP_SHARED, <read-only fd>)'
      )
      // A private mapping writes nothing back: a read-only descriptor is enough, as for mmap(2).
      const priv = mmap.map(100, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd)
      priv[0] ^= 0xff
      mmap.sync(priv, true)
      mmap.unmap(priv)
    } finally {
      fs.closeSync(fd)
    }
    sameBytes(fileBytes(p), pattern(100), 'the file')
  })

  safeMaps('MAP_PRIVATE with PROT_WRITE: writes stay in memory, never in the file', () => {
    const bytes = pattern(PAGESIZE, 82)
    const p = fileWith(bytes)
    const fd = fs.openSync(p, 'r+')
    const buffer = mmap.map(PAGESIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd)
    fs.closeSync(fd)
    buffer.fill(7)
    mmap.sync(buffer, true)
    mmap.unmap(buffer)
    sameBytes(fileBytes(p), bytes, 'the file')
  })

  safeMaps('offsets past 2^31 and 2^32 (mmap-io reads them as a C int) map the right bytes; windows over 1 GiB', () => {
    const p = tmpFile('sparse.bin')
    const fd = fs.openSync(p, 'w+')
    try {
      const marks: Array<[number, number]> = [
        [2 ** 31 + 1, 0xb1],
        [2 ** 32 + 3, 0xb2],
        [3 * 2 ** 30 + 5, 0xb3]
      ]
      fs.ftruncateSync(fd, 5 * 2 ** 30)
      for (const [at, byte] of marks) fs.writeSync(fd, new Uint8Array([byte]), 0, 1, at)
      for (const [at, byte] of marks) {
        const buffer = mmap.map(16, PROT_READ, MAP_SHARED, fd, at - 1)
        assert.is(buffer[1], byte, `the byte at ${at}`)
        mmap.unmap(buffer)
      }
      if (ctx.backend === 'native') {
        // mmap-io: "Mappings over 1 GiB are not supported". A private mapping of a sparse file costs
        // address space only.
        const big = mmap.map(3 * 2 ** 30, PROT_READ, MAP_PRIVATE, fd, 2 ** 31)
        assert.is(big.length, 3 * 2 ** 30)
        assert.is(big[1], 0xb1)
        assert.is(big[2 ** 31 + 3], 0xb2)
        mmap.unmap(big)
      } else {
        // wasm reads a window into memory: over 1 GiB, up to maxViewBytes (not mapped here, to spare the machine).
        assert.ok(api.capabilities.maxViewBytes > 2 ** 30, `maxViewBytes ${api.capabilities.maxViewBytes}`)
      }
    } finally {
      fs.closeSync(fd)
      fs.rmSync(p)
    }
  })

  safeMaps(
    'the descriptor can be closed at once, and a file that takes its number never receives the write-back',
    () => {
      const p = fileWith(new Uint8Array(PAGESIZE))
      const q = tmpFile()
      const fd = fs.openSync(p, 'r+')
      const buffer = mmap.map(PAGESIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd)
      fs.closeSync(fd)
      const other = fs.openSync(q, 'w+')
      try {
        buffer.fill(9)
        mmap.sync(buffer)
        mmap.sync(buffer, true)
        mmap.unmap(buffer)
        assert.is(fs.fstatSync(other).size, 0, `the file at number ${other}`)
      } finally {
        fs.closeSync(other)
      }
      sameBytes(fileBytes(p), new Uint8Array(PAGESIZE).fill(9), 'the mapped file')
    }
  )

  safe.run()

  // ---------------------------------------------------------------------------------------------
  const life = suite(`${ctx.label} mmap-io: Buffers and the rest of mmapfile`)
  const lifeMaps = requires(life, ...reopen)
  const lifeMapsInChild = requires(life, ...reopenInChild)

  lifeMaps(
    "map()'s Buffer is a view of the backend: mmapfile's sync, info and close take it; a part of it goes to mmap-io's calls only",
    () => {
      const p = fileWith(new Uint8Array(3 * PAGESIZE))
      const fd = fs.openSync(p, 'r+')
      const buffer = mmap.map(3 * PAGESIZE - 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 1)
      fs.closeSync(fd)
      assert.equal(api.info(buffer), {
        path: null,
        mode: 'rw',
        offset: 1,
        byteLength: 3 * PAGESIZE - 1,
        backend: ctx.backend,
        fd
      })
      buffer[0] = 1
      api.sync(buffer)
      assert.is(fileBytes(p)[1], 1, 'mmapfile.sync(buffer)')
      const part = buffer.subarray(PAGESIZE, 2 * PAGESIZE)
      part[0] = 2
      mmap.sync(part, 0, 1, true)
      assert.is(fileBytes(p)[PAGESIZE + 1], 2, 'mmap-io sync(part of it)')
      mmap.advise(part, mmap.MADV_WILLNEED)
      mmap.advise(part, 10, 20, mmap.MADV_DONTNEED)
      assert.is(part[0], 2, 'advise changes nothing')
      assert.equal(mmap.incore(part)[0] + mmap.incore(part)[1], 2, 'incore of the part counts its pages')
      expectThrow(() => api.sync(part), { type: TypeError }, 'mmapfile.sync(part of a Buffer)')
      buffer[2] = 3
      api.close(buffer)
      assert.is(buffer.length, 0, 'closed: length 0')
      assert.is(fileBytes(p)[3], 3, 'mmapfile.close(buffer) wrote back')
      mmap.unmap(buffer) // a second release is a no-op
      expectThrow(() => mmap.sync(buffer), { type: TypeError, code: 'ERR_MMAPFILE_CLOSED' }, 'sync after close')
    }
  )

  lifeMaps('unmap writes back durably and releases; the Buffer then has length 0; a second unmap is a no-op', () => {
    const p = fileWith(new Uint8Array(PAGESIZE))
    const fd = fs.openSync(p, 'r+')
    const buffer = mmap.map(PAGESIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd)
    fs.closeSync(fd)
    buffer[5] = 5
    mmap.unmap(buffer.subarray(10))
    assert.is(buffer.length, 0)
    mmap.unmap(buffer)
    assert.is(fileBytes(p)[5], 5)
    assertNothingHeld('after unmap', p)
  })

  // native: the mapping lives as long as any view of its bytes (a part of the Buffer included), and
  // mmap-io's calls take such a part; wasm: the Buffer is the mapping's life, and once it is collected
  // the 'rw' data is written back and the descriptor closed (a part keeps reading the bytes).
  lifeMapsInChild(
    "collected: native releases the mapping once nothing refers to its bytes, wasm once the Buffer is gone; 'rw' data is in the file",
    async () => {
      const p = fileWith(new Uint8Array(2 * PAGESIZE))
      const r = await runChild(
        `${childPrelude(entry(ctx))}
import { createMmapIo } from 'mmapfile/mmap-io'
const mmap = createMmapIo(m)
const native = m.backend === 'native'
const fd = fs.openSync(args[0], 'r+')
const fdsOf = () => fs.readdirSync('/proc/self/fd').filter((n) => { try { return fs.readlinkSync('/proc/self/fd/' + n) === args[0] } catch { return false } }).length
// In a function of its own, so that no stack slot of the caller holds the part afterwards (Bun's
// collector scans the stack conservatively).
async function usePart () {
  const part = (() => {
    const buffer = mmap.map(${2 * PAGESIZE}, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd)
    buffer[1] = 11
    return buffer.subarray(${PAGESIZE})
  })()
  fs.closeSync(fd)
  await collectUntil(() => fs.readFileSync(args[0])[1] === 11 && (native || !seesProc || fdsOf() === 0))
  await collect(8)
  part[0] = 22
  // where the child cannot see its mappings and descriptors (Windows, a permission model): null
  const heldByPart = seesProc ? { maps: maps(args[0]).length, fds: fdsOf() } : null
  if (native) mmap.sync(part, true)
  return { heldByPart, second: fs.readFileSync(args[0])[${PAGESIZE}] }
}
const { heldByPart, second } = await usePart()
if (seesProc) await collectUntil(() => maps(args[0]).length === 0 && fdsOf() === 0)
report({ heldByPart, first: fs.readFileSync(args[0])[1], second, maps: seesProc ? maps(args[0]).length : null, fds: seesProc ? fdsOf() : null })
`,
        { args: [p] }
      )
      assertChildOk(r, 'map, drop, collect')
      const native = ctx.backend === 'native'
      const seen = lacking('child-proc') === null
      assert.equal(childReport(r, 'map, drop, collect'), {
        heldByPart: !seen ? null : native ? { maps: 1, fds: 1 } : { maps: 0, fds: 0 },
        first: 11,
        second: native ? 22 : 0,
        maps: seen ? 0 : null,
        fds: seen ? 0 : null
      })
    }
  )

  lifeMapsInChild(
    'wasm: a shared writable mapping reaches the file at sync, unmap and exit; native at once (the page cache)',
    async () => {
      const p = fileWith(new Uint8Array(100))
      const r = await runChild(
        `${childPrelude(entry(ctx))}
import { createMmapIo } from 'mmapfile/mmap-io'
const mmap = createMmapIo(m)
const fd = fs.openSync(args[0], 'r+')
const buffer = globalThis.keep = mmap.map(100, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd)
buffer[0] = 1
const before = fs.readFileSync(args[0])[0]
mmap.sync(buffer)
const afterSync = fs.readFileSync(args[0])[0]
buffer[99] = 99
report({ before, afterSync })
`,
        { args: [p] }
      )
      assertChildOk(r, 'exit with a mapping')
      assert.equal(childReport(r, 'exit'), { before: ctx.backend === 'native' ? 1 : 0, afterSync: 1 })
      assert.is(fileBytes(p)[99], 99, 'the write left at exit')
    }
  )

  lifeMapsInChild(
    'mmapfile/mmap-io picks the backend as mmapfile does (MMAPFILE_BACKEND), for import and require',
    async () => {
      const p = fileWith(pattern(64, 83))
      const r = await runChild(
        `
import mmap from 'mmapfile/mmap-io'
import { map, PROT_READ, MAP_SHARED } from 'mmapfile/mmap-io'
import * as mmapfile from 'mmapfile'
import { createRequire } from 'node:module'
import * as fs from 'node:fs'
const required = createRequire(import.meta.url)('mmapfile/mmap-io')
const fd = fs.openSync(process.argv[2], 'r')
const a = mmap.map(64, mmap.PROT_READ, mmap.MAP_SHARED, fd)
const b = map(63, PROT_READ, MAP_SHARED, fd, 1)
const c = required.map(64, required.PROT_READ, required.MAP_SHARED, fd)
fs.closeSync(fd)
const backends = [a, b, c].map((x) => mmapfile.info(x).backend)
mmapfile.close(c) // the CommonJS copy's Buffer, closed by the ESM copy's mmapfile
process.stdout.write(JSON.stringify({ backends, mmapfile: mmapfile.backend, bytes: [a[0], b[0], c.length], same: required.PAGESIZE === mmap.PAGESIZE }) + '\\n')
`,
        { args: [p], env: { MMAPFILE_BACKEND: ctx.backend } }
      )
      assertChildOk(r, `MMAPFILE_BACKEND=${ctx.backend}`)
      const bytes = pattern(64, 83)
      assert.equal(childReport(r, 'backend'), {
        backends: [ctx.backend, ctx.backend, ctx.backend],
        mmapfile: ctx.backend,
        bytes: [bytes[0], bytes[1], 0],
        same: true
      })
    }
  )

  life.run()
}
