// The WebAssembly backend on Node, below what every backend does (test/backend-contract.test.ts):
// the module's memory, our WASI host with its calls counted and failed on demand, and the write-back
// of changed chunks (stats.bytesWritten). The public API runs on it in test/conformance.
// This file: errors and open; wasm-backend-write-back.test.mjs and wasm-backend-lifetime.test.mjs
// (close, resize, durability) the rest, over wasm-backend-kit.mjs.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fs from 'node:fs'
import path from 'node:path'
import { pattern } from './pattern.mjs'
import {
  CHUNK,
  OPTS,
  dir,
  backend,
  file,
  bytesOf,
  sameFile,
  openFds,
  instrumented,
  throwsWith,
  systemError
} from './wasm-backend-kit.mjs'

// --- errors
const errors = suite('wasm errors')

errors('create that fails after making the file removes it; an existing file keeps its bytes', () => {
  const { backend: b, faults } = instrumented()
  faults.fd_filestat_set_size = 51 // ENOSPC
  const p = path.join(dir, 'never.bin')
  throwsWith(
    () => b.create(p, 100, OPTS),
    (e) => {
      systemError('ENOSPC', 'ftruncate')(e)
      assert.is(e.message, 'no space left on device')
    }
  )
  assert.not.ok(fs.existsSync(p), 'the file it created is gone')
  const data = pattern(1000)
  const existing = file(data)
  throwsWith(() => b.create(existing, 100, OPTS), systemError('ENOSPC', 'ftruncate'))
  sameFile(existing, data, 'a file that was there keeps its bytes (sizing failed)')
  delete faults.fd_filestat_set_size
  assert.is(b.stats.liveInstances, 0)
  // Mapping fails (no random bytes for the fingerprint keys, which a backend draws with its first
  // writable mapping), after the file was opened; a later create draws them again.
  const fresh = instrumented()
  fresh.faults.random_get = 29 // EIO
  throwsWith(() => fresh.backend.create(p, 100, OPTS), systemError('EIO', 'getrandom'))
  assert.not.ok(fs.existsSync(p), 'the file it created is gone (mapping failed)')
  throwsWith(() => fresh.backend.create(existing, 100, OPTS), systemError('EIO', 'getrandom'))
  sameFile(existing, data, 'a file that was there keeps its bytes (mapping failed)')
  assert.is(fresh.backend.stats.liveInstances, 0)
  delete fresh.faults.random_get
  fresh.backend.close(fresh.backend.create(p, 100, OPTS))
  assert.is(fs.statSync(p).size, 100, 'the keys drawn once the fault is gone')
})

errors('a failed read leaves no mapping and no fd', () => {
  const { backend: b, faults } = instrumented()
  const p = file(pattern(1000))
  const fds = openFds()
  faults.fd_pread = 29 // EIO
  throwsWith(
    () => b.open(p, 'rw', 0, null, OPTS),
    (e) => {
      systemError('EIO', 'read')(e)
      assert.is(e.message, 'i/o error')
    }
  )
  assert.is(openFds(), fds)
  assert.is(b.stats.liveInstances, 0)
})

errors.run()

// --- open
const open = suite('wasm open')

open('maps the window at any offset, at a 64 KiB-aligned address of the instance memory', () => {
  const data = pattern(300000)
  const p = file(data)
  for (const [offset, length] of [
    [0, null],
    [1, 100],
    [65535, 2],
    [65536, 70000],
    [123457, null],
    [300000, null]
  ]) {
    const m = backend.open(p, 'r', offset, length, OPTS)
    const expected = data.subarray(offset, length === null ? undefined : offset + length)
    assert.is(m.byteLength, expected.length)
    if (m.byteLength > 0) assert.is(m.byteOffset % CHUNK, 0)
    assert.equal(bytesOf(m), expected)
    backend.close(m)
  }
})

open("'r' views write nothing back", () => {
  const data = pattern(200000)
  const p = file(data)
  const before = backend.stats.bytesWritten
  const m = backend.open(p, 'r', 0, null, OPTS)
  bytesOf(m).fill(7, 1000, 150000)
  assert.is(bytesOf(m)[1000], 7)
  backend.sync(m, 0, m.byteLength)
  backend.close(m)
  assert.equal(new Uint8Array(fs.readFileSync(p)), data)
  assert.is(backend.stats.bytesWritten, before)
})

open.run()
