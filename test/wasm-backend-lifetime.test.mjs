// The WebAssembly backend on Node (see test/wasm-backend.test.mjs): close, resize and durability.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { pathToFileURL } from 'node:url'
import { pattern } from './pattern.mjs'
import {
  CHUNK,
  OPTS,
  dir,
  bundle,
  entryBundle,
  backend,
  file,
  bytesOf,
  sameFile,
  instrumented,
  allZero,
  throwsWith,
  systemError
} from './wasm-backend-kit.mjs'

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
