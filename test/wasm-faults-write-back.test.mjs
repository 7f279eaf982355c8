// Fault injection for the WebAssembly backend (see test/wasm-faults.test.mjs): the write-back of
// sync, a range, syncAsync and close.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
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

// --- write-back: sync, sync of a range, syncAsync, close

const writeBack = suite('wasm faults: write-back')

const SIZE = 6 * CHUNK + 100
/** Chunks changed after the last sync: separate runs, one fd_pwrite each; 6 is the partial last chunk. */
const CHANGED = [1, 3, 5, 6]
/** The range `sync` and `syncAsync` are given in the ranged cases: chunks 1 to 3. */
const RANGE = { offset: CHUNK, length: 3 * CHUNK }

/** The operations that write back, with the chunks of CHANGED each writes. */
const OPS = [
  ['sync', (api, v) => api.sync(v), CHANGED],
  ['sync of a range', (api, v) => api.sync(v, RANGE), [1, 3]],
  ['syncAsync', (api, v) => api.syncAsync(v), CHANGED],
  ['syncAsync of a range', (api, v) => api.syncAsync(v, RANGE), [1, 3]],
  ['close', (api, v) => api.close(v), CHANGED]
]

/** The faults of a write-back, with the error each gives. */
const WRITE_FAULTS = [
  ['EIO on the first write', (w) => w.inject('fd_pwrite', EIO), 'EIO', 'write'],
  ['ENOSPC half-way (the second write)', (w) => w.inject('fd_pwrite', ENOSPC, { nth: 2 }), 'ENOSPC', 'write'],
  [
    'ENOSPC after a short write (a chunk half-written)',
    (w) => {
      w.inject('fd_pwrite', ENOSPC, { nth: 2 })
      w.inject('fd_pwrite', { short: 1000 }, { times: 1 })
    },
    'ENOSPC',
    'write'
  ],
  // A module that looped on a write making no progress would get past the 100th (the fault stops)
  // and succeed: the test sees that.
  ['a zero-length write', (w) => w.inject('fd_pwrite', { zero: true }, { times: 100 }), 'EIO', 'write'],
  ['fsync failing', (w) => w.inject('fd_sync', EIO), 'EIO', 'fsync']
]

for (const [opName, op, written] of OPS) {
  const fn = opName.split(' ')[0]
  for (const [faultName, inject, code, syscall] of WRITE_FAULTS) {
    writeBack(
      `${opName}: ${faultName} is ${code} '${syscall}'; synced bytes intact, view whole, the retry writes all`,
      async () => {
        const { w, p, v, leaks, synced } = syncedView(SIZE, 10, [10, CHUNK + 10])
        for (const c of CHANGED) v[c * CHUNK + 50] ^= 0xff
        const expected = copy(v)
        inject(w)
        const writes = w.calls.fd_pwrite ?? 0
        const error = await failure(() => op(w.api, v))
        systemError(error, { fn, code, syscall, p })
        if (faultName.startsWith('a zero'))
          assert.is(w.calls.fd_pwrite - writes, 1, 'no second try of a write that made no progress')
        syncedIntact(p, synced, expected, written, 'after the failure')
        // The view: open, whole, and usable.
        assert.is(v.length, SIZE, 'the view is still mapped')
        same(copy(v), expected, 'the view holds its bytes')
        assert.is(w.api.info(v).byteLength, SIZE)
        v[4 * CHUNK + 7] ^= 0x55
        expected[4 * CHUNK + 7] ^= 0x55
        w.clear()
        const fsyncs = w.calls.fd_sync ?? 0
        await op(w.api, v)
        if (syscall === 'fsync') assert.ok(w.calls.fd_sync > fsyncs, 'the retry asks for durability again')
        if (opName.includes('range')) {
          const now = fileBytes(p)
          for (const c of [1, 3])
            same(
              now.subarray(c * CHUNK, (c + 1) * CHUNK),
              expected.subarray(c * CHUNK, (c + 1) * CHUNK),
              `chunk ${c} after the retry`
            )
          for (const c of [4, 5, 6])
            same(
              now.subarray(c * CHUNK, (c + 1) * CHUNK),
              synced.subarray(c * CHUNK, (c + 1) * CHUNK),
              `chunk ${c}, outside the range`
            )
        }
        if (fn !== 'close') {
          assert.is(v.length, SIZE)
          w.api.close(v)
        }
        assert.is(v.length, 0, 'closed')
        same(fileBytes(p), expected, 'the file holds everything written')
        leaks('at the end')
      }
    )
  }
}

writeBack('short writes are written on until done, for every operation', async () => {
  for (const [opName, op] of OPS) {
    const w = world()
    const data = pattern(SIZE, 11)
    const p = file(data)
    const leaks = leakCheck(w)
    const v = w.api.open(p, Uint8Array, 'rw', { offset: 3 })
    w.inject('fd_pwrite', { short: 4099 }, { times: Infinity })
    v.fill(1, 100, 2 * CHUNK)
    v.fill(2, 4 * CHUNK, 4 * CHUNK + 20)
    const expected = copy(v)
    await op(w.api, v)
    if (!opName.startsWith('close')) w.api.close(v)
    assert.ok(w.calls.fd_pwrite > (2 * CHUNK) / 4099, `${opName}: ${w.calls.fd_pwrite} writes`)
    same(fileBytes(p).subarray(3), expected, opName)
    leaks(opName)
  }
})

writeBack(
  'ENOSPC at close, then space is freed: the retried close writes everything (created, then resized file)',
  async () => {
    const w = world()
    const p = file()
    const leaks = leakCheck(w)
    let v = w.api.create(p, 2 * CHUNK)
    v.fill(3)
    w.api.sync(v)
    v = w.api.resize(v, 4 * CHUNK)
    v.fill(4, 2 * CHUNK)
    const expected = copy(v)
    w.inject('fd_pwrite', ENOSPC, { times: Infinity })
    for (let i = 0; i < 3; i++) {
      systemError(await failure(() => w.api.close(v)), { fn: 'close', code: 'ENOSPC', syscall: 'write', p })
    }
    const synced = new Uint8Array(4 * CHUNK).fill(3, 0, 2 * CHUNK) // the resize added zeros
    syncedIntact(p, synced, expected, [], 'while the disk is full')
    assert.is(v.length, 4 * CHUNK, 'the view is still mapped')
    w.clear()
    w.api.close(v)
    same(fileBytes(p), expected, 'after space was freed')
    leaks('at the end')
  }
)

writeBack('fsync failing at syncAsync without an asynchronous fsync (the deferred sync)', async () => {
  const w = world({ asyncFsync: false })
  const data = pattern(2 * CHUNK, 12)
  const p = file(data)
  const leaks = leakCheck(w)
  const v = w.api.open(p, Uint8Array, 'rw')
  v[5] ^= 1
  w.inject('fd_sync', EIO)
  systemError(await failure(() => w.api.syncAsync(v)), { fn: 'syncAsync', code: 'EIO', syscall: 'fsync', p })
  assert.is(v.length, 2 * CHUNK)
  w.clear()
  const fsyncs = w.calls.fd_sync
  await w.api.syncAsync(v)
  assert.ok(w.calls.fd_sync > fsyncs, 'the retry asks for durability again')
  w.api.close(v)
  data[5] ^= 1
  same(fileBytes(p), data, 'the file')
  leaks('at the end')
})

writeBack('close(2) failing after the write-back loses nothing: the view is closed, its descriptor freed', async () => {
  const w = world()
  const data = pattern(2 * CHUNK, 13)
  const p = file(data)
  const leaks = leakCheck(w)
  const v = w.api.open(p, Uint8Array, 'rw')
  v[9] ^= 1
  data[9] ^= 1
  w.inject('fd_close', EIO)
  w.api.close(v)
  assert.is(w.calls.fd_close, 1, 'the fault was met')
  same(fileBytes(p), data, 'the bytes were written back (and made durable) before')
  assert.is(v.length, 0)
  const closed = await failure(() => w.api.info(v))
  assert.is(closed.code, 'ERR_MMAPFILE_CLOSED', 'the view is closed, not half-open')
  w.api.close(v)
  leaks('at the end')
})

writeBack.run()
