// The WebAssembly backend on Node (see test/wasm-backend.test.mjs): the write-back of changed chunks.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fs from 'node:fs'
import { pattern } from './pattern.mjs'
import {
  CHUNK,
  OPTS,
  backend,
  file,
  bytesOf,
  sameFile,
  instrumented,
  throwsWith,
  systemError
} from './wasm-backend-kit.mjs'

// --- write-back
const writeBack = suite('wasm write-back')

writeBack('writes back only the chunks changed: a marker written meanwhile by someone else survives', () => {
  const data = pattern(16 * CHUNK)
  const p = file(data)
  const m = backend.open(p, 'rw', 0, null, OPTS)
  const fd = fs.openSync(p, 'r+')
  fs.writeSync(fd, Buffer.from('MARKER'), 0, 6, 2 * CHUNK + 10)
  fs.closeSync(fd)
  bytesOf(m)[10 * CHUNK + 5] ^= 0xff
  const before = backend.stats.bytesWritten
  backend.close(m)
  assert.is(backend.stats.bytesWritten - before, CHUNK, 'one chunk written')
  const now = fs.readFileSync(p)
  assert.is(now.toString('latin1', 2 * CHUNK + 10, 2 * CHUNK + 16), 'MARKER')
  assert.is(now[10 * CHUNK + 5], data[10 * CHUNK + 5] ^ 0xff)
})

writeBack('chunks align to file offsets: an unaligned window has partial first and last chunks', () => {
  const data = pattern(5 * CHUNK)
  const p = file(data)
  const offset = 1000
  const length = 200000
  const m = backend.open(p, 'rw', offset, length, OPTS)
  bytesOf(m)[0] ^= 1
  bytesOf(m)[length - 1] ^= 1
  const before = backend.stats.bytesWritten
  backend.sync(m, 0, length)
  assert.is(backend.stats.bytesWritten - before, CHUNK - offset + (offset + length - 3 * CHUNK))
  backend.close(m)
  const expected = data.slice()
  expected[offset] ^= 1
  expected[offset + length - 1] ^= 1
  assert.equal(new Uint8Array(fs.readFileSync(p)), expected)
})

writeBack('neighbouring changed chunks go out in one fd_pwrite; nothing changed, nothing written or synced', () => {
  const { backend: b, calls } = instrumented()
  const p = file(pattern(12 * CHUNK))
  const m = b.open(p, 'rw', 0, null, OPTS)
  for (const c of [3, 4, 5, 9]) bytesOf(m)[c * CHUNK + 7] ^= 1
  b.sync(m, 0, m.byteLength)
  assert.is(calls.fd_pwrite, 2)
  assert.is(b.stats.bytesWritten, 4 * CHUNK)
  assert.is(calls.fd_sync, 1)
  b.sync(m, 0, m.byteLength)
  b.close(m)
  assert.is(calls.fd_pwrite, 2, 'no write when nothing changed since')
  assert.is(b.stats.bytesWritten, 4 * CHUNK)
  assert.is(calls.fd_sync, 1, 'and no fd_sync either: nothing is left to make durable')
})

writeBack('sync of a range writes the changed chunks that meet it; close writes the rest', () => {
  const data = pattern(8 * CHUNK)
  const p = file(data)
  const m = backend.open(p, 'rw', 0, null, OPTS)
  bytesOf(m)[CHUNK + 100] ^= 1
  bytesOf(m)[5 * CHUNK + 100] ^= 1
  let before = backend.stats.bytesWritten
  backend.sync(m, CHUNK + 50, 10)
  assert.is(backend.stats.bytesWritten - before, CHUNK)
  assert.is(fs.readFileSync(p)[CHUNK + 100], data[CHUNK + 100] ^ 1)
  assert.is(fs.readFileSync(p)[5 * CHUNK + 100], data[5 * CHUNK + 100])
  before = backend.stats.bytesWritten
  backend.close(m)
  assert.is(backend.stats.bytesWritten - before, CHUNK)
  assert.is(fs.readFileSync(p)[5 * CHUNK + 100], data[5 * CHUNK + 100] ^ 1)
})

writeBack('changes that keep sums and xors (swaps, +x/-x) are found', () => {
  const p = file(pattern(4 * CHUNK))
  const m = backend.open(p, 'rw', 0, null, OPTS)
  const words = new Uint32Array(m.buffer, m.byteOffset, m.byteLength / 4)
  ;[words[10], words[11]] = [words[11], words[10]]
  words[CHUNK / 4 + 3] += 12345
  words[CHUNK / 4 + 900] -= 12345
  ;[words[(2 * CHUNK) / 4], words[(2 * CHUNK) / 4 + 4]] = [words[(2 * CHUNK) / 4 + 4], words[(2 * CHUNK) / 4]]
  const expected = new Uint8Array(bytesOf(m))
  const before = backend.stats.bytesWritten
  backend.close(m)
  assert.is(backend.stats.bytesWritten - before, 3 * CHUNK)
  assert.equal(new Uint8Array(fs.readFileSync(p)), expected)
})

writeBack('random edits over many syncs: the file always equals the view', () => {
  const size = 9 * CHUNK + 1234
  const p = file(pattern(size, 7))
  const offset = 777
  const m = backend.open(p, 'rw', offset, size - offset, OPTS)
  const v = bytesOf(m)
  let x = 12345
  const rand = (n) => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) % n
  }
  for (let round = 0; round < 60; round++) {
    const edits = 1 + rand(5)
    for (let e = 0; e < edits; e++) {
      const at = rand(v.length)
      const kind = rand(3)
      if (kind === 0) v[at] ^= 1 << rand(8)
      else if (kind === 1) v.fill(rand(256), at, Math.min(v.length, at + rand(3 * CHUNK)))
      else if (at + 8 <= v.length) v.copyWithin(at, at + 4, at + 8)
    }
    backend.sync(m, 0, v.length)
    assert.equal(new Uint8Array(fs.readFileSync(p)).subarray(offset), v, `round ${round}`)
  }
  backend.close(m)
})

writeBack('a created or resized file is fsynced at close even when no byte changed', () => {
  const { backend: b, calls } = instrumented()
  const m = b.create(file(), 10, OPTS)
  b.close(m)
  assert.is(calls.fd_sync, 1)
  let n = b.open(file(pattern(10)), 'rw', 0, null, OPTS)
  n = b.resize(n, 20)
  b.close(n)
  assert.is(calls.fd_sync, 2)
})

writeBack('a created file is written back where the view changed, and only there', () => {
  const p = file()
  const m = backend.create(p, 3 * CHUNK + 10, OPTS)
  assert.is(fs.statSync(p).size, 3 * CHUNK + 10)
  bytesOf(m)[3 * CHUNK + 9] = 42
  const before = backend.stats.bytesWritten
  backend.close(m)
  assert.is(backend.stats.bytesWritten - before, 10)
  const now = fs.readFileSync(p)
  assert.is(now.length, 3 * CHUNK + 10)
  assert.is(now[3 * CHUNK + 9], 42)
})

// The view's buffer is the instance's whole memory: the fingerprint keys and the fingerprints are
// copied into it for each call, but the trusted ones live outside it (src/wasm/backend.ts). Writing
// over the buffer changes what is written back exactly where it changes the window, nowhere else.
/** Writes over the whole buffer of m (zeros, or bytes that differ everywhere), or only outside its window. */
function scribble(m, kind, where = 'everywhere') {
  const all = new Uint8Array(m.buffer)
  const before = where === 'outside' ? all.slice(m.byteOffset, m.byteOffset + m.byteLength) : null
  if (kind === 'zeros') all.fill(0)
  else all.set(pattern(all.length, 4242))
  if (before !== null) all.set(before, m.byteOffset)
}

writeBack('writing over the buffer outside the window writes nothing back; inside, exactly the chunks changed', () => {
  for (const kind of ['zeros', 'random']) {
    for (const [offset, length] of [
      [0, 6 * CHUNK],
      [1000, 4 * CHUNK + 5]
    ]) {
      const data = pattern(7 * CHUNK + 3)
      const p = file(data)
      const m = backend.open(p, 'rw', offset, length, OPTS)
      const what = `${kind}, window [${offset}, ${offset + length})`
      scribble(m, kind, 'outside')
      let before = backend.stats.bytesWritten
      backend.sync(m, 0, length)
      assert.is(backend.stats.bytesWritten - before, 0, `${what}: nothing written after a write outside the window`)
      sameFile(p, data, `${what}: the file untouched`)
      bytesOf(m)[2 * CHUNK + 7] ^= 0xff
      const expected = data.slice()
      expected[offset + 2 * CHUNK + 7] ^= 0xff
      before = backend.stats.bytesWritten
      backend.sync(m, 0, length)
      const chunkBytes =
        Math.min(offset + length, (Math.floor((offset + 2 * CHUNK + 7) / CHUNK) + 1) * CHUNK) -
        Math.max(offset, Math.floor((offset + 2 * CHUNK + 7) / CHUNK) * CHUNK)
      assert.is(backend.stats.bytesWritten - before, chunkBytes, `${what}: then only the chunk changed`)
      scribble(m, kind)
      expected.set(bytesOf(m), offset)
      before = backend.stats.bytesWritten
      backend.close(m)
      assert.is(backend.stats.bytesWritten - before, length, `${what}: all of a window written over`)
      sameFile(p, expected, `${what}: after close`)
    }
  }
})

writeBack('a sync of a range writes the changed chunks meeting it; the rest stays for later', () => {
  const data = pattern(5 * CHUNK)
  const p = file(data)
  const m = backend.open(p, 'rw', 0, null, OPTS)
  bytesOf(m)[4 * CHUNK + 1] ^= 1 // a change outside the range synced
  scribble(m, 'zeros', 'outside')
  bytesOf(m)[2] = 9
  const expected = data.slice()
  expected[2] = 9
  backend.sync(m, 0, 20)
  sameFile(p, expected, 'after a sync of 20 bytes')
  expected[4 * CHUNK + 1] ^= 1
  const before = backend.stats.bytesWritten
  backend.close(m)
  assert.is(backend.stats.bytesWritten - before, CHUNK, 'the other chunk, at close')
  sameFile(p, expected, 'after close')
})

writeBack('resize after the buffer was written over keeps every change', () => {
  for (const [from, to] of [
    [3 * CHUNK + 10, 5 * CHUNK],
    [3 * CHUNK + 10, CHUNK + 20],
    [2 * CHUNK, 4 * CHUNK]
  ]) {
    const p = file(pattern(from))
    let m = backend.open(p, 'rw', 0, null, OPTS)
    scribble(m, 'zeros')
    bytesOf(m)[from - 1] = 5
    const expected = new Uint8Array(to)
    expected.set(bytesOf(m).subarray(0, Math.min(from, to)))
    m = backend.resize(m, to)
    bytesOf(m)[to - 1] = 6
    expected[to - 1] = 6
    backend.close(m)
    sameFile(p, expected, `${from} -> ${to}`)
  }
})

writeBack('a failed full write-back is retried by the next close', () => {
  const { backend: b, faults } = instrumented()
  const data = pattern(3 * CHUNK)
  const p = file(data)
  const m = b.open(p, 'rw', 0, null, OPTS)
  scribble(m, 'zeros')
  faults.fd_pwrite = 51 // ENOSPC
  throwsWith(() => b.close(m), systemError('ENOSPC', 'write'))
  delete faults.fd_pwrite
  sameFile(p, data, 'nothing written yet')
  b.close(m)
  sameFile(p, new Uint8Array(3 * CHUNK), 'the zeros, after the retry')
})

writeBack.run()
