// The WebAssembly backend on Node, below what every backend does (test/backend-contract.test.ts):
// the module's memory, our WASI host with its calls counted and failed on demand, and the write-back
// of changed chunks (stats.bytesWritten). The public API runs on it in test/conformance.
// Builds the module if assembly/ changed, bundles src/wasm/node.ts into a temporary directory, imports it.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildModuleIfStale } from './wasm-module.mjs'
import { pattern } from './pattern.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const CHUNK = 65536
/** What the front passes a backend for a plain (not gc*) mapping. */
const OPTS = { autoClose: false, sparse: false }

buildModuleIfStale(root)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-wasm-test-'))
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
/** src/<entry> bundled for Node into the temp dir, the .wasm embedded as the package build does. */
async function bundleOf(entry, outfile) {
  await build({
    entryPoints: [path.join(root, 'src', entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    loader: { '.wasm': 'binary' },
    outfile,
    logLevel: 'warning'
  })
  return outfile
}
const bundle = await bundleOf('wasm/node.ts', path.join(dir, 'wasm.mjs'))
const { loadWasmBackend, createWasmBackend, createNodeWasiHost } = await import(pathToFileURL(bundle).href)
/** The public API on this backend (src/wasm-entry.ts), for child processes. */
const entryBundle = await bundleOf('wasm-entry.ts', path.join(dir, 'wasm-entry.mjs'))
const backend = loadWasmBackend()

let serial = 0
/** A fresh path in the temporary directory, with `data` written there if given. */
function file(data) {
  const p = path.join(dir, `f${serial++}.bin`)
  if (data !== undefined) fs.writeFileSync(p, data)
  return p
}

const bytesOf = (m) => new Uint8Array(m.buffer, m.byteOffset, m.byteLength)

/** The file at p holds exactly `expected` (a short message, not a diff of every byte). */
function sameFile(p, expected, what) {
  const now = new Uint8Array(fs.readFileSync(p))
  let at = 0
  while (at < now.length && at < expected.length && now[at] === expected[at]) at++
  if (at < now.length || at < expected.length) {
    assert.unreachable(`${what}: ${now.length} bytes, expected ${expected.length}; first difference at ${at}`)
  }
}
const openFds = () => fs.readdirSync('/proc/self/fd').length

/** A backend whose WASI calls are counted and can be made to fail: faults[name] = errno. */
function instrumented() {
  const node = createNodeWasiHost()
  const calls = {}
  const faults = {}
  const wasi = (memory) => {
    const real = node(memory).wasi_snapshot_preview1
    const wrapped = {}
    for (const [name, fn] of Object.entries(real)) {
      wrapped[name] = (...args) => {
        calls[name] = (calls[name] ?? 0) + 1
        // A fault is an errno for every call, or a function of the call's arguments giving one (0: no fault).
        const fault = typeof faults[name] === 'function' ? faults[name](...args) : faults[name]
        return fault || fn(...args)
      }
    }
    return { wasi_snapshot_preview1: wrapped }
  }
  return { backend: createWasmBackend({ wasi }), calls, faults }
}

function allZero(bytes, what) {
  const at = bytes.findIndex((x) => x !== 0)
  if (at >= 0) assert.unreachable(`${what}: byte ${at} is ${bytes[at]}, expected 0`)
}

function throwsWith(fn, check) {
  try {
    fn()
  } catch (error) {
    check(error)
    return
  }
  assert.unreachable('expected a throw')
}

function systemError(code, syscall) {
  return (e) => {
    assert.instance(e, Error)
    assert.not.instance(e, RangeError)
    assert.is(e.code, code)
    assert.is(e.syscall, syscall)
  }
}

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

// --- close
const close = suite('wasm close')

close('close releases the instance of every kind of mapping; a second close releases nothing more', () => {
  const p = file(pattern(100000))
  const live = backend.stats.liveInstances
  for (const kind of ['r', 'rw', 'create', 'alloc']) {
    const m =
      kind === 'alloc'
        ? backend.alloc(1000, OPTS)
        : kind === 'create'
          ? backend.create(file(), 1000, OPTS)
          : backend.open(p, kind, 0, null, OPTS)
    assert.is(backend.stats.liveInstances, live + 1, `${kind}: one instance while open`)
    backend.close(m)
    assert.is(backend.stats.liveInstances, live, `${kind}: none once closed`)
    backend.close(m)
    assert.is(backend.stats.liveInstances, live, `${kind}: none after a second close`)
  }
})

close('a failed write-back keeps the mapping open and whole; the retry writes it', () => {
  const { backend: b, faults } = instrumented()
  const p = file(pattern(3 * CHUNK))
  const m = b.open(p, 'rw', 0, null, OPTS)
  const v = bytesOf(m)
  v[CHUNK] ^= 1
  faults.fd_pwrite = 51
  throwsWith(() => b.close(m), systemError('ENOSPC', 'write'))
  assert.is(v.length, 3 * CHUNK, 'still mapped')
  delete faults.fd_pwrite
  const expected = new Uint8Array(v)
  b.close(m)
  assert.equal(new Uint8Array(fs.readFileSync(p)), expected)
})

close('views dropped without close give their descriptors back once collected', () => {
  const n = 100
  const child = `
    import * as m from ${JSON.stringify(pathToFileURL(entryBundle).href)}
    import fs from 'node:fs'
    const dir = ${JSON.stringify(dir)}
    const openFds = () => fs.readdirSync('/proc/self/fd').length
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5))
    const paths = []
    for (let i = 0; i < ${n}; i++) {
      for (const kind of ['rw', 'empty', 'resized']) {
        const p = dir + '/drop-' + kind + '-' + i + '.bin'
        fs.writeFileSync(p, new Uint8Array(kind === 'empty' ? 0 : 1000))
        paths.push([kind, p])
      }
    }
    const before = openFds()
    ;(() => {
      for (const [kind, p] of paths) {
        const v = m.open(p, Uint8Array, 'rw')
        if (kind === 'resized') m.resize(v, 2000)[1500] = 1
      }
      for (let i = 0; i < ${n}; i++) m.create(dir + '/drop-created-' + i + '.bin', 100)
    })()
    const dropped = openFds()
    for (let i = 0; i < 100 && openFds() > before + 2; i++) { globalThis.gc(); await tick() }
    console.log(JSON.stringify({ before, dropped, after: openFds() }))
  `
  const result = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', child], { encoding: 'utf8' })
  assert.is(result.status, 0, result.stderr)
  const { before, dropped, after } = JSON.parse(result.stdout)
  assert.ok(dropped >= before + 3 * n, `the views held their descriptors while alive (${before} -> ${dropped})`)
  assert.ok(
    after <= before + 2,
    `open descriptors: ${before} before, ${dropped} with ${4 * n} views, ${after} once they were collected`
  )
})

close.run()

// --- resize
const resize = suite('wasm resize')

resize('a resize the file refuses (ftruncate EINTR) leaves the mapping as it was', () => {
  const { backend: b, faults } = instrumented()
  const p = file(pattern(3 * CHUNK))
  const m = b.open(p, 'rw', 0, null, OPTS)
  const v = bytesOf(m)
  v[1] ^= 1
  faults.fd_filestat_set_size = 27 // EINTR, say
  throwsWith(() => b.resize(m, 10 * CHUNK), systemError('EINTR', 'ftruncate'))
  assert.is(v.length, 3 * CHUNK, 'the view is still attached')
  assert.is(m.byteLength, 3 * CHUNK)
  delete faults.fd_filestat_set_size
  const expected = new Uint8Array(v)
  b.close(m)
  assert.equal(new Uint8Array(fs.readFileSync(p)), expected)
})

resize('a size change the file refuses fails before memory grows: the view stays attached and whole', () => {
  const { backend: b, faults } = instrumented()
  const data = pattern(200000)
  for (const [length, to] of [
    [1000, 150000],
    [200000, 300000],
    [200000, 1000]
  ]) {
    const p = file(data)
    const m = b.open(p, 'rw', 0, length, OPTS)
    bytesOf(m)[10] ^= 0xff
    const before = m.buffer
    const view = bytesOf(m)
    faults.fd_filestat_set_size = 63 // EPERM, as a sealed memfd answers
    throwsWith(() => b.resize(m, to), systemError('EPERM', 'ftruncate'))
    delete faults.fd_filestat_set_size
    const what = `[0, ${length}) -> ${to}`
    assert.is(m.buffer, before, `${what}: memory did not grow`)
    assert.is(view.length, length, `${what}: the caller's view is attached`)
    assert.is(view[10], data[10] ^ 0xff, `${what}: and holds its bytes`)
    assert.is(fs.statSync(p).size, data.length, `${what}: the file keeps its size`)
    b.close(m)
    const expected = data.slice()
    expected[10] ^= 0xff
    sameFile(p, expected, `${what}: the file after close`)
  }
})

resize('growing a window that ends before the end of a file that refuses cuts: the zeros are written instead', () => {
  const { backend: b, faults } = instrumented()
  const data = pattern(5 * CHUNK)
  const p = file(data)
  const m = b.open(p, 'rw', 0, 1000, OPTS)
  // Only cuts fail (a memfd sealed with F_SEAL_SHRINK): growth past the end still works.
  faults.fd_filestat_set_size = (fd, size) => (size < fs.statSync(p).size ? 63 : 0) // EPERM
  const n = b.resize(m, 7 * CHUNK)
  delete faults.fd_filestat_set_size
  assert.is(n.byteLength, 7 * CHUNK)
  allZero(bytesOf(n).subarray(1000), 'the growth in the view')
  b.close(n)
  const expected = new Uint8Array(7 * CHUNK)
  expected.set(data.subarray(0, 1000))
  sameFile(p, expected, 'the file: zeros past the old window, written at close')
})

resize('memory that cannot grow fails the resize with ENOMEM; the file keeps its size and its bytes', () => {
  const data = pattern(200000)
  const inside = file(data)
  const atEnd = file(data.subarray(0, 1000))
  // The child's memories cannot grow past 64 pages (4 MiB): growing a window to 8 MiB fails.
  const child = `
    import { loadWasmBackend } from ${JSON.stringify(pathToFileURL(bundle).href)}
    const b = loadWasmBackend()
    const out = []
    for (const [p, length] of ${JSON.stringify([
      [inside, 1000],
      [atEnd, 1000]
    ])}) {
      const m = b.open(p, 'rw', 0, length, { autoClose: false, sparse: false })
      const v = new Uint8Array(m.buffer, m.byteOffset, m.byteLength)
      v[10] ^= 0xff
      try { b.resize(m, 8 << 20); out.push('resized') } catch (e) { out.push(e.code + ' ' + e.syscall) }
      out.push(v.length)
      b.close(m)
    }
    console.log(JSON.stringify(out))
  `
  const result = spawnSync(process.execPath, ['--wasm-max-mem-pages=64', '--input-type=module', '-e', child], {
    encoding: 'utf8'
  })
  assert.is(result.status, 0, result.stderr)
  assert.equal(JSON.parse(result.stdout), ['ENOMEM mmap', 1000, 'ENOMEM mmap', 1000])
  const expected = data.slice()
  expected[10] ^= 0xff
  sameFile(inside, expected, 'a window inside the file: the file is whole')
  sameFile(atEnd, expected.subarray(0, 1000), 'a window to the end: the file is its old size')
})

resize.run()

// --- sync, syncAsync, durability
const durable = suite('wasm durability')

durable('after an fsync fails, the retry writes again what was written since the last fsync that worked', () => {
  const { backend: b, faults } = instrumented()
  const p = file(pattern(3 * CHUNK))
  const m = b.open(p, 'rw', 0, null, OPTS)
  bytesOf(m)[1] ^= 1
  b.sync(m, 0, m.byteLength) // durable: chunk 0 is settled
  bytesOf(m)[CHUNK + 1] ^= 1
  bytesOf(m)[2 * CHUNK + 1] ^= 1
  faults.fd_sync = 29 // EIO: Linux may now have dropped the dirty state of those pages
  throwsWith(() => b.close(m), systemError('EIO', 'fsync'))
  delete faults.fd_sync
  const before = b.stats.bytesWritten
  b.close(m)
  assert.is(
    b.stats.bytesWritten - before,
    2 * CHUNK,
    'the two chunks written since the last good fsync, written again; not chunk 0'
  )
  assert.is(m.byteLength, 0)
})

durable.run()
