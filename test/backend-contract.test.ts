// The Backend contract (src/front/backend.ts) on both backends: what a backend does with the checked
// values the front hands it. One suite per Backend function, registered once per backend; what only
// one backend has (the addon's own argument checks and /proc bookkeeping, the wasm write-back's chunk
// accounting and its WASI host) stays in test/native-addon.test.mjs and test/wasm-backend.test.mjs.
// The public API on top is test/conformance/, run per backend by test/native.test.ts and test/wasm.test.ts.
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import type { Backend, Mapping } from '../src/front/backend'
import { loadNativeBackend } from '../src/native/backend'
import { loadWasmBackend } from '../src/wasm/node'
import {
  allZero,
  bytesOf,
  expectThrow,
  fds,
  fileBytes,
  fileSize,
  fileWith,
  lacking,
  mapsLines,
  pattern,
  repoRoot,
  sameBytes,
  skipTest,
  tmpDir,
  tmpFile
} from './helpers'
import type { Expected, Need } from './helpers'

/** What the front passes a backend for a plain (not gc*) mapping. */
const OPTS = { autoClose: false, sparse: false }

/** A file-system error as a backend throws it: `code`, `syscall`, and the bare description. */
const system = (code: string, syscall: string, message?: string): Expected => ({
  type: Error,
  code,
  syscall,
  ...(message === undefined ? {} : { message })
})

/** Descriptors of this process on files under the temp dir (none where /proc cannot be read). */
const heldFds = (): string[] => (lacking('proc') === null ? fds(tmpDir) : [])

function register(name: 'native' | 'wasm', load: () => Backend): void {
  let backend: Backend
  let unavailable: string | null = null
  try {
    backend = load()
  } catch (error) {
    unavailable = `the ${name} backend does not load here: ${(error as Error).message}`
    backend = null as unknown as Backend
  }
  /** A test of the contract on this backend: skipped, with the reason, where it lacks a need or does not load. */
  const contract = (s: Test, ...needs: Need[]): ((title: string, fn: () => unknown) => void) => {
    const reasons = [unavailable, ...needs.map(lacking)].filter((r): r is string => r !== null)
    return reasons.length === 0
      ? (title, fn) => s(title, fn as () => void)
      : (title, fn) => skipTest(s, `${name}: ${title}`, fn, reasons.join('; '))
  }

  // --- open
  const open = suite(`${name} backend: open`)
  const openTest = contract(open)

  openTest('a missing file is ENOENT from open, with the bare description, in both modes; no descriptor left', () => {
    const held = heldFds()
    const p = path.join(tmpDir, 'missing.bin')
    expectThrow(
      () => backend.open(p, 'r', 0, null, OPTS),
      system('ENOENT', 'open', 'no such file or directory'),
      "open(<missing>, 'r')"
    )
    expectThrow(() => backend.open(p, 'rw', 0, null, OPTS), system('ENOENT', 'open'), "open(<missing>, 'rw')")
    assert.not.ok(fs.existsSync(p), "'rw' did not create the file")
    assert.equal(heldFds(), held, 'descriptors')
  })

  openTest('a directory is EISDIR from open, in both modes; a path through a file is ENOTDIR', () => {
    const held = heldFds()
    for (const mode of ['r', 'rw'] as const) {
      expectThrow(() => backend.open(tmpDir, mode, 0, null, OPTS), system('EISDIR', 'open'), `open(<dir>, '${mode}')`)
    }
    expectThrow(
      () => backend.open(path.join(fileWith(10), 'x'), 'r', 0, null, OPTS),
      system('ENOTDIR', 'open'),
      'open(<file>/x)'
    )
    assert.equal(heldFds(), held, 'descriptors')
  })

  contract(open, 'posix-tools')('a FIFO is ENODEV from mmap in both modes, without blocking', () => {
    const fifo = tmpFile('fifo')
    const made = spawnSync('mkfifo', [fifo], { encoding: 'utf8' })
    assert.is(made.status, 0, `mkfifo: ${made.stderr ?? ''}${made.error?.message ?? ''}`)
    for (const mode of ['r', 'rw'] as const) {
      expectThrow(() => backend.open(fifo, mode, 0, null, OPTS), system('ENODEV', 'mmap'), `open(<fifo>, '${mode}')`)
    }
  })

  contract(
    open,
    'not-root',
    'posix-modes'
  )("a file without write permission is EACCES for 'rw'", () => {
    const p = fileWith(10)
    fs.chmodSync(p, 0o444)
    expectThrow(() => backend.open(p, 'rw', 0, null, OPTS), system('EACCES', 'open'), "open(<read-only file>, 'rw')")
  })

  openTest('a window past the end of the file is a RangeError with the final message; no descriptor left', () => {
    const p = fileWith(8)
    const held = heldFds()
    expectThrow(
      () => backend.open(p, 'r', 10, null, OPTS),
      { type: RangeError, message: 'offset 10 is beyond the end of the file (8 bytes)' },
      'open(<8 bytes>, offset 10)'
    )
    expectThrow(
      () => backend.open(p, 'rw', 4, 5, OPTS),
      { type: RangeError, message: 'window [4, 9) is beyond the end of the file (8 bytes)' },
      'open(<8 bytes>, [4, 9))'
    )
    assert.equal(heldFds(), held, 'descriptors')
  })

  // A sparse file one byte larger than the largest view: 4 GiB on Node 20 (native and wasm); native on
  // Node 22+ takes views of terabytes, more than a sparse file here may hold.
  const max = unavailable === null ? backend.capabilities.maxViewBytes : 0
  const tooLargeTest =
    max + 1 > 2 ** 36
      ? (title: string, fn: () => unknown) =>
          skipTest(
            open,
            `${name}: ${title}`,
            fn,
            `maxViewBytes is ${max}: a sparse file one byte larger is more than this test makes`
          )
      : openTest
  tooLargeTest(
    'a window larger than maxViewBytes is a RangeError that says to map a window; one of maxViewBytes - 5 .. + 1 maps',
    () => {
      const p = tmpFile('sparse-max.bin')
      fs.writeFileSync(p, '')
      fs.truncateSync(p, max + 1)
      try {
        for (const mode of ['r', 'rw'] as const) {
          expectThrow(
            () => backend.open(p, mode, 0, null, OPTS),
            {
              type: RangeError,
              message: `the window of ${max + 1} bytes is larger than the largest view (${max} bytes); map a window with options.offset and options.length`
            },
            `open(<maxViewBytes + 1 bytes>, '${mode}')`
          )
        }
        const m = backend.open(p, 'r', max - 5, 6, OPTS)
        assert.is(m.byteLength, 6)
        backend.close(m)
      } finally {
        fs.rmSync(p, { force: true })
      }
    }
  )

  openTest("'r' reads the file; writes to it stay in memory, through sync and close", () => {
    const data = pattern(200000)
    const p = fileWith(data)
    const m = backend.open(p, 'r', 0, null, OPTS)
    sameBytes(bytesOf(m), data, 'the mapping')
    bytesOf(m).fill(7, 1000, 150000)
    assert.is(bytesOf(m)[1000], 7, 'the write reads back')
    backend.sync(m, 0, m.byteLength)
    backend.close(m)
    sameBytes(fileBytes(p), data, 'the file')
  })

  openTest(
    "'rw' windows at any offset: the window's bytes; a change is in the file after sync, at its file offset",
    () => {
      const PAGE = backend.pageSize
      const data = pattern(3 * PAGE + 65537, 2)
      const p = fileWith(data)
      for (const [offset, length] of [
        [0, null],
        [1, 10],
        [PAGE - 1, 2],
        [PAGE + 5, PAGE],
        [2 * PAGE + 7, null],
        [123, 2 * PAGE],
        [65535, 2]
      ] as Array<[number, number | null]>) {
        const what = `[${offset}, ${length === null ? 'end' : offset + length})`
        const m = backend.open(p, 'rw', offset, length, OPTS)
        const expected = data.subarray(offset, length === null ? undefined : offset + length)
        sameBytes(bytesOf(m), expected, `${what}: the mapping`)
        bytesOf(m)[0] ^= 0xff
        backend.sync(m, 0, 1)
        assert.is(fileBytes(p)[offset], expected[0] ^ 0xff, `${what}: the file after sync`)
        backend.close(m)
        data[offset] ^= 0xff
      }
      sameBytes(fileBytes(p), data, 'the file after every window')
    }
  )

  openTest("'rw': a write is in the file at once where the backend is coherent, else from sync on", () => {
    const p = fileWith(pattern(100))
    const m = backend.open(p, 'rw', 0, null, OPTS)
    bytesOf(m)[0] = 0xaa
    if (backend.capabilities.coherent) assert.is(fileBytes(p)[0], 0xaa, 'coherent: a plain read sees it before sync')
    backend.sync(m, 0, 1)
    assert.is(fileBytes(p)[0], 0xaa, 'after sync')
    backend.close(m)
  })

  openTest('an empty file, an offset at its end and length 0 give empty mappings that sync, advise and close', () => {
    const empty = fileWith(new Uint8Array(0))
    const ten = fileWith(10)
    for (const mode of ['r', 'rw'] as const) {
      for (const [p, offset, length] of [
        [empty, 0, null],
        [ten, 10, null],
        [ten, 3, 0]
      ] as Array<[string, number, number | null]>) {
        const m = backend.open(p, mode, offset, length, OPTS)
        assert.is(m.byteLength, 0, `'${mode}' [${offset}, ${String(length)}) of ${fileSize(p)} bytes`)
        backend.sync(m, 0, 0)
        backend.advise(m, 'dontneed', 0, 0)
        backend.close(m)
      }
    }
    assert.is(fileSize(empty), 0)
    assert.is(fileSize(ten), 10)
  })

  open.run()

  // --- create
  const create = suite(`${name} backend: create`)
  const createTest = contract(create)

  createTest('a directory is EISDIR; a missing directory is ENOENT and nothing is made', () => {
    expectThrow(() => backend.create(tmpDir, 10, OPTS), system('EISDIR', 'open'), 'create(<dir>)')
    const p = path.join(tmpDir, 'no-such-dir', 'x.bin')
    expectThrow(() => backend.create(p, 10, OPTS), system('ENOENT', 'open'), 'create(<missing dir>/x.bin)')
    assert.not.ok(fs.existsSync(path.dirname(p)))
  })

  contract(create, 'posix-tools')('a FIFO is ENODEV, and is left a FIFO', () => {
    const fifo = tmpFile('fifo')
    assert.is(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo')
    expectThrow(() => backend.create(fifo, 10, OPTS), system('ENODEV', 'mmap'), 'create(<fifo>)')
    assert.ok(fs.statSync(fifo).isFIFO(), 'still a FIFO')
  })

  createTest('larger than maxViewBytes: a RangeError, no file left, an existing file untouched', () => {
    const max = backend.capabilities.maxViewBytes
    const p = tmpFile()
    expectThrow(() => backend.create(p, max + 1, OPTS), { type: RangeError }, 'create(p, maxViewBytes + 1)')
    assert.not.ok(fs.existsSync(p), 'no file left')
    const data = pattern(30)
    const q = fileWith(data)
    expectThrow(() => backend.create(q, max + 1, OPTS), { type: RangeError }, 'create(<existing>, maxViewBytes + 1)')
    sameBytes(fileBytes(q), data, 'the existing file')
  })

  createTest(
    'makes a file of zeros of the size, mapped; an existing file is emptied first; 0 bytes gives an empty file',
    () => {
      const p = tmpFile()
      const m = backend.create(p, 3000, OPTS)
      assert.is(fileSize(p), 3000)
      assert.is(m.byteLength, 3000)
      allZero(bytesOf(m), 'the new mapping')
      bytesOf(m)[2999] = 7
      backend.close(m)
      assert.is(fileBytes(p)[2999], 7, 'written back at close')
      const q = fileWith(5000)
      const n = backend.create(q, 100, OPTS)
      allZero(bytesOf(n), 'the mapping of an existing file')
      backend.close(n)
      sameBytes(fileBytes(q), new Uint8Array(100), 'the existing file, after close')
      const e = backend.create(q, 0, OPTS)
      assert.is(e.byteLength, 0)
      backend.close(e)
      assert.is(fileSize(q), 0)
    }
  )

  create.run()

  // --- alloc
  const alloc = suite(`${name} backend: alloc`)
  contract(alloc)('zero-filled memory of the size; 0 bytes is empty; larger than maxViewBytes is a RangeError', () => {
    const m = backend.alloc(100000, OPTS)
    assert.is(m.byteLength, 100000)
    allZero(bytesOf(m), 'alloc(100000)')
    bytesOf(m)[5] = 1
    backend.close(m)
    const e = backend.alloc(0, OPTS)
    assert.is(e.byteLength, 0)
    backend.close(e)
    expectThrow(
      () => backend.alloc(backend.capabilities.maxViewBytes + 1, OPTS),
      { type: RangeError },
      'alloc(maxViewBytes + 1)'
    )
  })
  alloc.run()

  // --- close
  const close = suite(`${name} backend: close`)
  const closeTest = contract(close)

  closeTest(
    'every view over the buffer reads as length 0 afterwards, for every kind of mapping; a second close is a no-op',
    () => {
      const p = fileWith(100000)
      for (const kind of ['r', 'rw', 'create', 'alloc']) {
        const m =
          kind === 'alloc'
            ? backend.alloc(1000, OPTS)
            : kind === 'create'
              ? backend.create(tmpFile(), 1000, OPTS)
              : backend.open(p, kind as 'r' | 'rw', 0, null, OPTS)
        const buffer = m.buffer
        const a = new Uint8Array(m.buffer, m.byteOffset, m.byteLength)
        const b = new Uint32Array(m.buffer, m.byteOffset + 8, 4)
        backend.close(m)
        assert.is(buffer.byteLength, 0, `${kind}: the buffer`)
        assert.is(m.byteLength, 0, `${kind}: the mapping`)
        assert.is(a.length, 0, `${kind}: a Uint8Array`)
        assert.is(b.length, 0, `${kind}: a Uint32Array at an offset`)
        assert.is(b[0], undefined, `${kind}: reading it`)
        backend.close(m)
      }
    }
  )

  // What calls on a closed mapping do is the front's to check (ERR_MMAPFILE_CLOSED, test/conformance/close.ts):
  // the addon refuses them (test/native-addon.test.mjs); the wasm backend makes sync a no-op.

  contract(close, 'proc')('no descriptor is left over 5000 open, create, resize and close cycles', () => {
    const p = fileWith(100)
    const q = tmpFile()
    const held = heldFds()
    for (let i = 0; i < 5000; i++) {
      const kind = i % 3
      const m =
        kind === 2 ? backend.create(q, 100, OPTS) : backend.open(p, kind === 0 ? 'r' : 'rw', i % 100, null, OPTS)
      backend.close(i % 7 === 0 && kind !== 0 ? backend.resize(m, 200) : m)
    }
    assert.equal(heldFds(), held, 'descriptors')
    assert.equal(mapsLines(p), [], 'mappings of the file')
  })

  close.run()

  // --- sync and syncAsync
  const sync = suite(`${name} backend: sync`)
  const syncTest = contract(sync)

  syncTest("sync of a range makes it reach the file; close the rest; 'rw' sync { durable: false } too", () => {
    const data = pattern(8 * 65536)
    const p = fileWith(data)
    const m = backend.open(p, 'rw', 0, null, OPTS)
    bytesOf(m)[65536 + 100] ^= 1
    bytesOf(m)[5 * 65536 + 100] ^= 1
    backend.sync(m, 65536 + 50, 100)
    assert.is(fileBytes(p)[65536 + 100], data[65536 + 100] ^ 1, 'the byte in the range')
    bytesOf(m)[7] ^= 1
    backend.sync(m, 0, 8, false)
    assert.is(fileBytes(p)[7], data[7] ^ 1, 'a sync that is not durable: visible to read()')
    backend.close(m)
    assert.is(fileBytes(p)[5 * 65536 + 100], data[5 * 65536 + 100] ^ 1, 'the byte outside the range, at close')
  })

  syncTest(
    'syncAsync returns a Promise that resolves once the bytes are in the file; of an alloc mapping it resolves',
    async () => {
      const p = fileWith(4 * 65536)
      const m = backend.open(p, 'rw', 1, null, OPTS)
      bytesOf(m)[65536] = 77
      const promise = backend.syncAsync(m, 0, m.byteLength)
      assert.instance(promise, Promise)
      await promise
      assert.is(fileBytes(p)[65537], 77)
      bytesOf(m)[3] = 78
      await backend.syncAsync(m, 3, 1, false)
      assert.is(fileBytes(p)[4], 78, 'not durable: visible to read()')
      backend.close(m)
      const a = backend.alloc(10, OPTS)
      await backend.syncAsync(a, 0, 10)
      backend.close(a)
    }
  )

  syncTest('a syncAsync still running when the mapping is closed settles, and nothing is lost', async () => {
    const p = fileWith(4 * 65536)
    const m = backend.open(p, 'rw', 0, null, OPTS)
    bytesOf(m)[2 * 65536] = 5
    const pending = backend.syncAsync(m, 0, m.byteLength)
    backend.close(m)
    assert.is(m.byteLength, 0)
    await pending
    assert.is(fileBytes(p)[2 * 65536], 5)
  })

  sync.run()

  // --- resize
  const resize = suite(`${name} backend: resize`)
  const resizeTest = contract(resize)

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

  resize.run()

  // --- advise and incore
  const hints = suite(`${name} backend: advise, incore`)
  const hintsTest = contract(hints)

  hintsTest("every advice, on 'r', 'rw' and alloc mappings: 'dontneed' never discards what was written", () => {
    const PAGE = backend.pageSize
    const p = fileWith(4 * PAGE)
    for (const kind of ['r', 'rw', 'alloc']) {
      const m = kind === 'alloc' ? backend.alloc(3 * PAGE, OPTS) : backend.open(p, kind as 'r' | 'rw', 0, null, OPTS)
      bytesOf(m).fill(0x5a, 0, 2 * PAGE)
      for (const advice of ['normal', 'sequential', 'random', 'willneed', 'dontneed'] as const) {
        backend.advise(m, advice)
        backend.advise(m, advice, 1, PAGE)
      }
      sameBytes(bytesOf(m).subarray(0, 2 * PAGE), new Uint8Array(2 * PAGE).fill(0x5a), `${kind}: what was written`)
      backend.close(m)
    }
  })

  hintsTest(
    'incore: [pages in memory, pages] of a range, pages aligned to file offsets, clamped to the mapping',
    () => {
      const PAGE = backend.pageSize
      const p = fileWith(3 * PAGE + 1)
      const m = backend.open(p, 'r', 1, null, OPTS) // file offset k + 1 at byte k: 4 pages
      const view = bytesOf(m)
      let touched = 0
      for (let i = 0; i < view.length; i += PAGE) touched += view[i]
      touched += view[view.length - 1] // every page in memory now
      assert.ok(touched >= 0)
      assert.equal(backend.incore(m, 0, view.length), [4, 4])
      assert.equal(backend.incore(m, PAGE - 3, 2), [1, 1])
      assert.equal(backend.incore(m, PAGE - 2, 2), [2, 2])
      assert.equal(backend.incore(m, 0, 0), [0, 0])
      assert.equal(backend.incore(m, 5 * PAGE, 10), [0, 0])
      backend.close(m)
    }
  )

  hints.run()
}

register('native', () => loadNativeBackend(repoRoot))
register('wasm', () => loadWasmBackend())
