// Fault injection for the WebAssembly backend, through the public API (issue 7): a WASI host that
// fails the Nth call of one kind (EIO, ENOSPC, EMFILE, fsync, ftruncate, random_get) or gives short
// or zero-length transfers. After each fault: a Node-style error (code, syscall, path, the
// `mmapfile.<fn>:` message), the bytes synced before intact in the file, the view still usable, a
// retry that succeeds once the fault is gone, and no descriptor or instance left behind.
//
// This file: open and create. The others: wasm-faults-write-back (sync, close), wasm-faults-resize,
// wasm-faults-views (two views of one file); wasm-faults-kit.mjs is what they share.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fs from 'node:fs'
import path from 'node:path'
import { pattern } from './pattern.mjs'
import {
  CHUNK,
  EIO,
  EMFILE,
  ENOSPC,
  EMPTIED,
  dir,
  world,
  file,
  fileBytes,
  copy,
  same,
  fdsInDir,
  leakCheck,
  failure,
  systemError
} from './wasm-faults-kit.mjs'

// --- open

const open = suite('wasm faults: open')

// Three read blocks of the 'rw' read loop (1 MiB each) and a partial chunk.
const BIG = 3 * (1 << 20) + 1000

/** Opens p (holding `data`) under `inject`'s faults: the error, the file untouched, nothing left, the retry works. */
async function openFails(mode, inject, expect) {
  const w = world()
  const data = pattern(BIG, 1)
  const p = file(data)
  const leaks = leakCheck(w)
  inject(w)
  systemError(await failure(() => w.api.open(p, Uint8Array, mode)), { fn: 'open', p, ...expect })
  leaks('after the failure')
  same(fileBytes(p), data, 'the file after the failure')
  w.clear()
  const v = w.api.open(p, Uint8Array, mode)
  same(copy(v), data, 'the view of the retry')
  w.api.close(v)
  leaks('after the retry')
  same(fileBytes(p), data, 'the file after the retry')
}

for (const mode of ['r', 'rw']) {
  open(`'${mode}': EMFILE from path_open`, () =>
    openFails(mode, (w) => w.inject('path_open', EMFILE), { code: 'EMFILE', syscall: 'open' })
  )

  open(`'${mode}': EIO from fstat`, () =>
    openFails(mode, (w) => w.inject('fd_filestat_get', EIO), { code: 'EIO', syscall: 'fstat' })
  )

  open(`'${mode}': EIO on the first read`, () =>
    openFails(mode, (w) => w.inject('fd_pread', EIO), { code: 'EIO', syscall: 'read' })
  )

  open(`'${mode}': EIO on the third read, after two short ones`, () =>
    openFails(
      mode,
      (w) => {
        w.inject('fd_pread', EIO, { nth: 3 })
        w.inject('fd_pread', { short: 1 << 20 }, { times: 2 })
      },
      { code: 'EIO', syscall: 'read' }
    )
  )

  open(`'${mode}': short reads are read on until the window is full`, () => {
    const w = world()
    const data = pattern(BIG, 2)
    const p = file(data)
    const leaks = leakCheck(w)
    w.inject('fd_pread', { short: 4093 }, { times: Infinity })
    const v = w.api.open(p, Uint8Array, mode, { offset: 5, length: BIG - 10 })
    assert.ok(w.calls.fd_pread >= (BIG - 10) / 4093, `${w.calls.fd_pread} reads`)
    same(copy(v), data.subarray(5, BIG - 5), 'the view')
    if (mode === 'rw') v[CHUNK + 1] ^= 1
    w.api.close(v)
    if (mode === 'rw') data[CHUNK + 6] ^= 1
    same(fileBytes(p), data, 'the file')
    leaks('at the end')
  })
}

open(
  "random_get failing is 'getrandom', for the first 'rw' view only; 'r' views need no keys; a later one draws them",
  async () => {
    for (const nth of [1, 2]) {
      // the first key, or the second one
      const w = world()
      const data = pattern(3 * CHUNK, 3)
      const p = file(data)
      const leaks = leakCheck(w)
      w.inject('random_get', EIO, { nth, times: Infinity })
      const error = await failure(() => w.api.open(p, Uint8Array, 'rw'))
      systemError(error, { fn: 'open', code: 'EIO', syscall: 'getrandom', p })
      leaks(`random_get #${nth}: after the failure`)
      const r = w.api.open(p, Uint8Array, 'r')
      same(copy(r), data, "an 'r' view meanwhile")
      w.api.close(r)
      w.clear()
      const v = w.api.open(p, Uint8Array, 'rw')
      const drawn = w.calls.random_get
      v[7] ^= 1
      const u = w.api.open(p, Uint8Array, 'rw', { offset: CHUNK })
      u[0] ^= 1
      assert.is(w.calls.random_get, drawn, 'the keys are drawn once per backend')
      w.api.close(v)
      w.api.close(u)
      data[7] ^= 1
      data[CHUNK] ^= 1
      same(fileBytes(p), data, 'the file')
      leaks(`random_get #${nth}: after the retry`)
    }
  }
)

open('EMFILE while other views are open: they stay usable and are written back', async () => {
  const w = world()
  const data = pattern(2 * CHUNK, 4)
  const p = file(data)
  const q = file(data)
  const leaks = leakCheck(w)
  const fds = fdsInDir()
  const v = w.api.open(p, Uint8Array, 'rw')
  assert.is(fdsInDir(), fds + 1, "the leak check sees an 'rw' view's descriptor")
  v[3] ^= 1
  w.inject('path_open', EMFILE, { times: Infinity })
  systemError(await failure(() => w.api.open(q, Uint8Array, 'rw')), {
    fn: 'open',
    code: 'EMFILE',
    syscall: 'open',
    p: q
  })
  const fresh = path.join(dir, 'emfile-new.bin')
  systemError(await failure(() => w.api.create(fresh, 10)), { fn: 'create', code: 'EMFILE', syscall: 'open', p: fresh })
  assert.not.ok(fs.existsSync(fresh), 'create made no file')
  v[CHUNK] ^= 1
  w.api.sync(v)
  w.clear()
  w.api.close(v)
  data[3] ^= 1
  data[CHUNK] ^= 1
  same(fileBytes(p), data, 'the open view was written back')
  leaks('at the end')
})

open.run()

// --- create

const create = suite('wasm faults: create')

/**
 * create(p, count) under `inject`'s faults: the error, then the file as it was (`before`, or absent),
 * or empty when `emptied`; nothing left behind; then the retry, with data, gives the file it asks for.
 */
async function createFails(before, count, inject, expect, { emptied = false } = {}) {
  const w = world()
  const p = file(before ?? undefined)
  const leaks = leakCheck(w)
  inject(w)
  const error = await failure(() => w.api.create(p, count))
  systemError(error, { fn: 'create', p, suffix: emptied ? EMPTIED : '', ...expect })
  leaks('after the failure')
  if (before === null) assert.not.ok(fs.existsSync(p), 'the file it made is gone')
  else if (emptied) assert.is(fs.statSync(p).size, 0, 'the file is empty, as the error says')
  else same(fileBytes(p), before, 'the file is as it was')
  w.clear()
  const data = pattern(Math.min(count, 1000), 9)
  const v = w.api.create(p, count, Uint8Array, data)
  same(copy(v).subarray(0, data.length), data, 'the view of the retry')
  w.api.close(v)
  const expected = new Uint8Array(count)
  expected.set(data)
  same(fileBytes(p), expected, 'the file after the retry')
  leaks('after the retry')
}

const MID = 3 * CHUNK + 17 // the size of the existing files

create('a new file: EMFILE from path_open makes nothing', () =>
  createFails(null, 1000, (w) => w.inject('path_open', EMFILE), { code: 'EMFILE', syscall: 'open' })
)

create('a new file: EIO from fstat removes it', () =>
  createFails(null, 1000, (w) => w.inject('fd_filestat_get', EIO), { code: 'EIO', syscall: 'fstat' })
)

create('a new file: ENOSPC from ftruncate removes it', () =>
  createFails(null, 1000, (w) => w.inject('fd_filestat_set_size', ENOSPC), { code: 'ENOSPC', syscall: 'ftruncate' })
)

create('a new file: random_get failing removes it', () =>
  createFails(null, 1000, (w) => w.inject('random_get', EIO), { code: 'EIO', syscall: 'getrandom' })
)

create('an existing file: EMFILE opening it (after EEXIST) leaves it as it was', () =>
  createFails(pattern(MID, 5), 1000, (w) => w.inject('path_open', EMFILE, { nth: 2 }), {
    code: 'EMFILE',
    syscall: 'open'
  })
)

create('an existing file: EIO from fstat leaves it as it was', () =>
  createFails(pattern(MID, 5), 1000, (w) => w.inject('fd_filestat_get', EIO), { code: 'EIO', syscall: 'fstat' })
)

create('an existing file: random_get failing leaves it as it was', () =>
  createFails(pattern(MID, 5), 1000, (w) => w.inject('random_get', EIO), { code: 'EIO', syscall: 'getrandom' })
)

// Sizing an existing file to a larger size: grow (1), empty (2), size (3); to a smaller or equal
// size: empty (1), size (2). Its old bytes go at the emptying: before, a failure leaves it as it was
// (a growth undone); after, empty, and the error says so.
for (const [title, count, nth, times, emptied] of [
  ['larger: the growth fails', 5 * CHUNK, 1, 1, false],
  ['larger: emptying fails after the growth worked (the growth is undone)', 5 * CHUNK, 2, 1, false],
  ['larger: the last size fails after emptying', 5 * CHUNK, 3, 1, true],
  ['smaller: emptying fails', CHUNK, 1, 1, false],
  ['smaller: the size fails after emptying', CHUNK, 2, 1, true],
  ['smaller: every size from emptying on fails', CHUNK, 2, Infinity, true],
  ['the same size: the size fails after emptying', MID, 2, 1, true],
  ['to 0 bytes: the second cut fails after emptying', 0, 2, 1, true]
]) {
  create(`an existing file, ${title}`, () =>
    createFails(
      pattern(MID, 6),
      count,
      (w) => w.inject('fd_filestat_set_size', EIO, { nth, times }),
      { code: 'EIO', syscall: 'ftruncate' },
      { emptied }
    )
  )
}

// Both backends accept this for a double fault: when emptying fails and so does undoing the growth,
// the file keeps its old bytes, followed by the zeros of the growth (native/posix.c, size_created).
create('an existing file, larger: every size from emptying on fails: old bytes intact, zeros after them', async () => {
  const w = world()
  const before = pattern(MID, 7)
  const p = file(before)
  const leaks = leakCheck(w)
  w.inject('fd_filestat_set_size', EIO, { nth: 2, times: Infinity })
  systemError(await failure(() => w.api.create(p, 5 * CHUNK)), { fn: 'create', code: 'EIO', syscall: 'ftruncate', p })
  const now = fileBytes(p)
  same(now.subarray(0, MID), before, 'the old bytes')
  assert.ok(
    now.subarray(MID).every((x) => x === 0),
    `then zeros (${now.length} bytes)`
  )
  w.clear()
  leaks('after the failure')
})

create.run()
