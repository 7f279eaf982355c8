// Fault injection for the WebAssembly backend (see test/wasm-faults.test.mjs): resize.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fs from 'node:fs'
import { pattern } from './pattern.mjs'
import {
  CHUNK,
  EIO,
  ENOSPC,
  world,
  file,
  fileBytes,
  copy,
  same,
  syncedIntact,
  leakCheck,
  syncedView,
  failure,
  systemError
} from './wasm-faults-kit.mjs'

// --- resize

const resizing = suite('wasm faults: resize')

const FILE = 3 * CHUNK + 100

/**
 * resize of an 'rw' view of the whole file (FILE bytes, changed in chunk 1 and in its partial last
 * chunk since the last sync) to `to` bytes, under `inject`'s faults: the error, the old view open and
 * whole, the file its old size with the bytes synced before, but for the chunk at the new end, which
 * resize writes back first when it changed (`writtenChunks`); the retry resizes, and close writes all.
 */
async function resizeFails(to, inject, expect, writtenChunks) {
  const { w, p, v, leaks, synced } = syncedView(FILE, 20, [5])
  v[CHUNK + 5] ^= 1
  v[FILE - 3] ^= 1
  const expected = copy(v)
  inject(w)
  systemError(await failure(() => w.api.resize(v, to)), { fn: 'resize', p, ...expect })
  assert.is(v.length, FILE, 'the old view is still mapped')
  same(copy(v), expected, 'and holds its bytes')
  assert.is(w.api.info(v).byteLength, FILE)
  syncedIntact(p, synced, expected, writtenChunks, 'the file after the failure')
  v[7] ^= 1
  expected[7] ^= 1
  w.clear()
  const n = w.api.resize(v, to)
  assert.is(v.length, 0, 'the retry closed the old view')
  assert.is(n.length, to)
  const want = new Uint8Array(to)
  want.set(expected.subarray(0, to))
  same(copy(n), want, 'the new view')
  n[to - 1] = 42
  want[to - 1] = 42
  w.api.close(n)
  same(fileBytes(p), want, 'the file')
  leaks('at the end')
}

resizing('grow: ENOSPC from ftruncate', () =>
  resizeFails(5 * CHUNK, (w) => w.inject('fd_filestat_set_size', ENOSPC), { code: 'ENOSPC', syscall: 'ftruncate' }, [3])
)

resizing('shrink: EIO from ftruncate', () =>
  resizeFails(CHUNK + 10, (w) => w.inject('fd_filestat_set_size', EIO), { code: 'EIO', syscall: 'ftruncate' }, [1])
)

resizing('grow: EIO from fstat', () =>
  resizeFails(5 * CHUNK, (w) => w.inject('fd_filestat_get', EIO), { code: 'EIO', syscall: 'fstat' }, [3])
)

resizing('grow: EIO writing back the chunk that changes length', () =>
  resizeFails(5 * CHUNK, (w) => w.inject('fd_pwrite', EIO), { code: 'EIO', syscall: 'write' }, [3])
)

resizing('grow: ENOSPC after a short write of the chunk that changes length', () =>
  resizeFails(
    5 * CHUNK,
    (w) => {
      w.inject('fd_pwrite', ENOSPC, { nth: 2 })
      w.inject('fd_pwrite', { short: 10 }, { times: 1 })
    },
    { code: 'ENOSPC', syscall: 'write' },
    [3]
  )
)

resizing('grow: a zero-length write of the chunk that changes length', () =>
  resizeFails(
    5 * CHUNK,
    (w) => w.inject('fd_pwrite', { zero: true }, { times: 100 }),
    { code: 'EIO', syscall: 'write' },
    [3]
  )
)

resizing('shrink inside a chunk that changed: EIO writing it back', () =>
  resizeFails(CHUNK + 10, (w) => w.inject('fd_pwrite', EIO), { code: 'EIO', syscall: 'write' }, [1])
)

// Growing a window that ends before the end of the file: the file is sized to the new end (1), cut
// at the old window end (2) and extended again (3), so that no old byte past the window comes back.
// A failure at 2 or 3 is not the resize's: the view is right, and the next write-back writes zeros
// where the file may still hold old bytes, and sizes the file.
for (const nth of [2, 3]) {
  resizing(`grow of a window inside the file: ftruncate #${nth} failing after #1 worked`, () => {
    const w = world()
    const data = pattern(FILE, 21)
    const p = file(data)
    const leaks = leakCheck(w)
    const v = w.api.open(p, Uint8Array, 'rw', { offset: 100, length: 1000 })
    v[0] ^= 1
    w.inject('fd_filestat_set_size', EIO, { nth })
    const n = w.api.resize(v, 5 * CHUNK)
    assert.is(n.length, 5 * CHUNK)
    assert.ok(
      copy(n)
        .subarray(1000)
        .every((x) => x === 0),
      'zeros past the old window end'
    )
    w.clear()
    w.api.close(n)
    const expected = new Uint8Array(100 + 5 * CHUNK)
    expected.set(data.subarray(0, 1100))
    expected[100] ^= 1
    same(fileBytes(p), expected, 'the file: the old window, then zeros to the new end')
    leaks('at the end')
  })
}

resizing(
  "an empty created view's first growth draws the keys: random_get failing is 'getrandom'; the retry works",
  async () => {
    const w = world()
    const p = file()
    const leaks = leakCheck(w)
    w.inject('random_get', EIO, { times: Infinity })
    const v = w.api.create(p, 0) // nothing mapped, so no keys drawn yet
    systemError(await failure(() => w.api.resize(v, 100)), { fn: 'resize', code: 'EIO', syscall: 'getrandom', p })
    assert.is(w.api.info(v).byteLength, 0, 'the old view is still open')
    assert.is(fs.statSync(p).size, 0, 'the file keeps its size')
    w.clear()
    const n = w.api.resize(v, 100)
    n[99] = 1
    w.api.close(n)
    const expected = new Uint8Array(100)
    expected[99] = 1
    same(fileBytes(p), expected, 'the file')
    leaks('at the end')
  }
)

resizing.run()
