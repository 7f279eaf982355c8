// The Backend contract: create, alloc and close.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import {
  allZero,
  bytesOf,
  expectThrow,
  fileBytes,
  fileSize,
  fileWith,
  mapsLines,
  pattern,
  sameBytes,
  tmpDir,
  tmpFile
} from '../helpers'
import type { ContractKit } from './kit'
import { OPTS, heldFds, system } from './kit'

/** create: its errors, and the file it makes. */
export function createSuite(k: ContractKit): void {
  const { name, backend, contract } = k
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
}

/** alloc: zero-filled memory. */
export function allocSuite(k: ContractKit): void {
  const { name, backend, contract } = k
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
}

/** close: every view emptied, and nothing held. */
export function closeSuite(k: ContractKit): void {
  const { name, backend, contract } = k
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
}
