// The Backend contract: open.
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import {
  bytesOf,
  expectThrow,
  fileBytes,
  fileSize,
  fileWith,
  pattern,
  sameBytes,
  skipTest,
  tmpDir,
  tmpFile
} from '../helpers'
import type { ContractKit, ContractTest } from './kit'
import { OPTS, heldFds, system } from './kit'

/** open: its errors, then windows at the limits of the largest view, and empty ones. */
export function openSuite(k: ContractKit): void {
  const { name, contract } = k
  // --- open
  const open = suite(`${name} backend: open`)
  const openTest = contract(open)
  openErrors(k, open, openTest)
  openLimits(k, open, openTest)
  open.run()
}

/** A missing file, a directory, a window past the end. */
function openErrors(k: ContractKit, open: Test, openTest: ContractTest): void {
  const { backend, contract } = k

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
}

/** Files larger than the largest view, and empty mappings. */
function openLimits(k: ContractKit, open: Test, openTest: ContractTest): void {
  const { name, backend, unavailable } = k
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
}
