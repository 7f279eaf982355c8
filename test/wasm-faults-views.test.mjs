// Fault injection for the WebAssembly backend (see test/wasm-faults.test.mjs): two views of one file
// whose write-backs share chunks.
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
  failure,
  systemError
} from './wasm-faults-kit.mjs'

// --- two views of one file

const shared = suite('wasm faults: views of one file')

/**
 * A file of 4 chunks + 100 bytes, view A of all of it and view B of [CHUNK/2, 3.5 CHUNK), both 'rw',
 * with A's earlier changes synced. at(view, i) reads file offset i through a view.
 */
function twoViews(w, seed) {
  const data = pattern(4 * CHUNK + 100, seed)
  const p = file(data)
  const a = w.api.open(p, Uint8Array, 'rw')
  const b = w.api.open(p, Uint8Array, 'rw', { offset: CHUNK / 2, length: 3 * CHUNK })
  a[1] ^= 1
  a[CHUNK - 1] ^= 1
  w.api.sync(a)
  const base = copy(a)
  const set = (view, i, x) => {
    view[view === a ? i : i - CHUNK / 2] = x
  }
  const at = (view, i) => view[view === a ? i : i - CHUNK / 2]
  return { p, a, b, base, set, at }
}

/** `base` with `writes` ([offset, byte] pairs) made. */
function withWrites(base, writes) {
  const out = base.slice()
  for (const [at, x] of writes) out[at] = x
  return out
}

/** Where A and B write, by file offset: in every chunk B shares with A, and one byte both write. */
const A_WRITES = [CHUNK / 2 + 10, CHUNK + 10, 2 * CHUNK + 10, 3 * CHUNK + 10, 4 * CHUNK + 10]
const B_WRITES = [CHUNK / 2 + 20, CHUNK + 5000, 2 * CHUNK + 20]
const BOTH = 2 * CHUNK + 30

shared(
  "A's write-back fails at its second chunk: B keeps its writes and sees A's first chunk; the retries leave the union",
  async () => {
    for (const op of ['sync', 'close']) {
      const w = world()
      const leaks = leakCheck(w)
      const { p, a, b, base, set, at } = twoViews(w, 30)
      for (const i of A_WRITES) set(a, i, 0xa0)
      for (const i of B_WRITES) set(b, i, 0xb0)
      set(a, BOTH, 0xaa)
      set(b, BOTH, 0xbb)
      const aBefore = copy(a)
      w.inject('fd_pwrite', EIO, { nth: 2 })
      systemError(await failure(() => w.api[op](a)), { fn: op, code: 'EIO', syscall: 'write', p })
      same(copy(a), aBefore, `${op}: A holds its bytes`)
      syncedIntact(p, base, aBefore, [0], `${op}: the file after the failure`)
      for (const i of B_WRITES) assert.is(at(b, i), 0xb0, `${op}: B keeps its write at ${i}`)
      assert.is(at(b, BOTH), 0xbb, `${op}: B keeps its write at ${BOTH}`)
      assert.is(at(b, CHUNK / 2 + 10), 0xa0, `${op}: B sees A's write in the chunk written`)
      assert.is(at(b, CHUNK + 10), base[CHUNK + 10], `${op}: and not yet A's write in the chunk not written`)
      w.clear()
      w.api[op](a)
      const union = base.slice()
      for (const i of A_WRITES) union[i] = 0xa0
      union[BOTH] = 0xaa
      same(fileBytes(p), union, `${op}: the file after A's retry`)
      for (const i of A_WRITES.filter((i) => i < 3.5 * CHUNK))
        assert.is(at(b, i), 0xa0, `${op}: B sees A's write at ${i}`)
      for (const i of B_WRITES) assert.is(at(b, i), 0xb0, `${op}: B still has its write at ${i}`)
      w.api.sync(b)
      for (const i of B_WRITES) union[i] = 0xb0
      union[BOTH] = 0xbb // the last synced
      same(fileBytes(p), union, `${op}: the file after B's sync`)
      if (op === 'sync') w.api.close(a)
      w.api.close(b)
      same(fileBytes(p), union, `${op}: the file at the end`)
      leaks(op)
    }
  }
)

// A disk filling up mid-write: the first fd_pwrite of a chunk writes 1000 of its bytes, the next one
// fails. The file then holds a chunk that is neither the old one nor A's, in a chunk that B maps.
for (const order of ['A retries first', 'B syncs first', 'B writes after the failure, then syncs first']) {
  shared(
    `A's write-back of a shared chunk stops half-way (ENOSPC after a short write), ${order}: nothing lost`,
    async () => {
      const w = world()
      const leaks = leakCheck(w)
      const { p, a, b, base, set, at } = twoViews(w, 31)
      const aAt = CHUNK + 10 // in the part of the chunk that reached the file
      const bAt = CHUNK + 5000 // in the part that did not
      set(a, aAt, 0xa1)
      if (order !== 'B writes after the failure, then syncs first') set(b, bAt, 0xb1)
      w.inject('fd_pwrite', ENOSPC, { nth: 2 })
      w.inject('fd_pwrite', { short: 1000 }, { times: 1 })
      systemError(await failure(() => w.api.sync(a)), { fn: 'sync', code: 'ENOSPC', syscall: 'write', p })
      w.clear()
      if (order === 'B writes after the failure, then syncs first') set(b, bAt, 0xb1)
      if (order === 'A retries first') {
        w.api.sync(a)
        w.api.sync(b)
      } else {
        w.api.sync(b)
        assert.is(at(a, aAt), 0xa1, "A still holds its write after B's sync")
        w.api.sync(a)
      }
      w.api.close(a)
      w.api.close(b)
      same(
        fileBytes(p),
        withWrites(base, [
          [aAt, 0xa1],
          [bAt, 0xb1]
        ]),
        'the file holds both writes'
      )
      leaks('at the end')
    }
  )
}

shared('EIO reading what a shared chunk held (for the merge): nothing written; the retry writes both', async () => {
  const w = world()
  const leaks = leakCheck(w)
  const { p, a, b, base, set } = twoViews(w, 32)
  set(a, CHUNK + 10, 0xa2)
  set(b, CHUNK + 20, 0xb2)
  w.inject('fd_pread', EIO)
  systemError(await failure(() => w.api.sync(a)), { fn: 'sync', code: 'EIO', syscall: 'read', p })
  same(fileBytes(p), base, 'nothing written')
  w.clear()
  w.api.close(a)
  w.api.close(b)
  same(
    fileBytes(p),
    withWrites(base, [
      [CHUNK + 10, 0xa2],
      [CHUNK + 20, 0xb2]
    ]),
    'the file holds both writes'
  )
  leaks('at the end')
})

shared("fsync failing at A's close: the retried close makes both views' writes durable", async () => {
  const w = world()
  const leaks = leakCheck(w)
  const { p, a, b, base, set, at } = twoViews(w, 33)
  set(a, CHUNK + 10, 0xa3)
  set(b, CHUNK + 20, 0xb3)
  w.inject('fd_sync', EIO)
  systemError(await failure(() => w.api.close(a)), { fn: 'close', code: 'EIO', syscall: 'fsync', p })
  assert.is(at(a, CHUNK + 10), 0xa3, 'A is still open and whole')
  assert.is(at(b, CHUNK + 10), 0xa3, "B sees A's write, which reached the file")
  w.clear()
  const fsyncs = w.calls.fd_sync
  w.api.close(a)
  assert.is(w.calls.fd_sync, fsyncs + 1, 'the retry asks for durability again')
  w.api.close(b)
  same(
    fileBytes(p),
    withWrites(base, [
      [CHUNK + 10, 0xa3],
      [CHUNK + 20, 0xb3]
    ]),
    'the file holds both writes'
  )
  leaks('at the end')
})

shared('short reads of what a shared chunk held: the merge still keeps both writes', () => {
  const w = world()
  const leaks = leakCheck(w)
  const { p, a, b, base, set, at } = twoViews(w, 34)
  set(a, CHUNK + 10, 0xa4)
  set(b, 2 * CHUNK - 3, 0xb4)
  const reads = w.calls.fd_pread ?? 0
  w.inject('fd_pread', { short: 999 }, { times: Infinity })
  w.api.sync(a)
  assert.ok(w.calls.fd_pread - reads > CHUNK / 999, 'the old bytes were read in short pieces')
  assert.is(at(b, CHUNK + 10), 0xa4, "B sees A's write")
  assert.is(at(b, 2 * CHUNK - 3), 0xb4, 'and keeps its own')
  w.api.close(b)
  w.api.close(a)
  same(
    fileBytes(p),
    withWrites(base, [
      [CHUNK + 10, 0xa4],
      [2 * CHUNK - 3, 0xb4]
    ]),
    'the file holds both writes'
  )
  leaks('at the end')
})

shared.run()
