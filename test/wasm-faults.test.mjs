// Fault injection for the WebAssembly backend, through the public API (issue 7): a WASI host that
// fails the Nth call of one kind (EIO, ENOSPC, EMFILE, fsync, ftruncate, random_get) or gives short
// or zero-length transfers. After each fault: a Node-style error (code, syscall, path, the
// `mmapfile.<fn>:` message), the bytes synced before intact in the file, the view still usable, a
// retry that succeeds once the fault is gone, and no descriptor or instance left behind.
//
// Bundles src/front/api.ts, src/wasm/node.ts and src/node/host.ts into a temporary directory, so that errors
// read as users see them, over a fresh backend per test (keys are drawn once per backend).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { build } from 'esbuild'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildModuleIfStale } from './wasm-module.mjs'
import { pattern } from './pattern.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const CHUNK = 65536
// WASI errnos (src/wasm/errno.ts)
const EIO = 29
const EMFILE = 33
const ENOSPC = 51
const DESCRIPTION = { EIO: 'i/o error', ENOSPC: 'no space left on device', EMFILE: 'too many open files' }
const EMPTIED = ' (the existing file had been emptied: its old bytes are gone)'

buildModuleIfStale(root)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-wasm-faults-'))
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
const bundle = path.join(dir, 'faults-entry.mjs')
await build({
  stdin: {
    contents:
      "export { createApi } from './front/api.ts'\n" +
      "export { createWasmBackend, createNodeWasiHost } from './wasm/node.ts'\n" +
      "export { nodePaths } from './node/host.ts'\n",
    resolveDir: path.join(root, 'src'),
    sourcefile: 'faults-entry.ts',
    loader: 'ts'
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  loader: { '.wasm': 'binary' },
  outfile: bundle,
  logLevel: 'warning'
})
const { createApi, createWasmBackend, createNodeWasiHost, nodePaths } = await import(pathToFileURL(bundle).href)

// --- the faulty host

/**
 * Our Node WASI host (src/wasm/node-host.ts) behind a switchboard of faults. `inject(name, fault, { nth,
 * times })`: from the nth call of WASI function `name` after the injection on, `times` calls (default
 * 1; Infinity: until clear()) get `fault`:
 *  - an errno: the call is not made and returns it (fd_close is made, then fails: close(2) frees
 *    the descriptor even when it reports an error);
 *  - { short: n }: fd_pread/fd_pwrite move at most n bytes, as a disk filling up or a signal does;
 *  - { zero: true }: fd_pwrite reports success having written nothing.
 * Faults on 'fd_sync' also hit the asynchronous fsync that syncAsync uses. Rules are tried in the
 * order they were injected, and the first that fires gives the fault: a call counts towards `nth` of
 * the rules before it, not of those after. clear(): the faults are gone.
 */
function faultyHost() {
  const node = createNodeWasiHost()
  const calls = {}
  let rules = []

  /** The fault for this call of `name`, or null. */
  function faultFor(name, args) {
    calls[name] = (calls[name] ?? 0) + 1
    for (const rule of rules) {
      if (rule.name !== name) continue
      rule.seen++
      if (rule.seen >= rule.nth && rule.fired < rule.times) {
        rule.fired++
        return rule.fault
      }
    }
    return null
  }

  const wasi = (memory) => {
    const real = node(memory).wasi_snapshot_preview1
    const dv = () => new DataView(memory().buffer)
    const wrapped = {}
    for (const [name, fn] of Object.entries(real)) {
      wrapped[name] = (...args) => {
        const fault = faultFor(name, args)
        if (fault === null) return fn(...args)
        if (typeof fault === 'number') {
          if (name === 'fd_close') fn(...args)
          return fault
        }
        const [fd, iovs, , offset, resultPtr] = args
        if (fault.zero) {
          dv().setUint32(resultPtr, 0, true)
          return 0
        }
        // A short transfer: the first I/O vector only, cut to `short` bytes, then put back.
        const length = dv().getUint32(iovs + 4, true)
        dv().setUint32(iovs + 4, Math.min(length, fault.short), true)
        try {
          return fn(fd, iovs, 1, offset, resultPtr)
        } finally {
          dv().setUint32(iovs + 4, length, true)
        }
      }
    }
    return { wasi_snapshot_preview1: wrapped }
  }
  const fdSyncAsync = (fd) => {
    const fault = faultFor('fd_sync', [fd])
    return fault === null ? node.fdSyncAsync(fd) : Promise.resolve(fault)
  }
  return {
    wasi,
    fdSyncAsync,
    calls,
    inject(name, fault, { nth = 1, times = 1 } = {}) {
      rules.push({ name, fault, nth, times, seen: 0, fired: 0 })
    },
    clear() {
      rules = []
    }
  }
}

/** The public API over a fresh wasm backend on a faulty host; without `asyncFsync`, syncAsync defers a sync. */
function world({ asyncFsync = true } = {}) {
  const host = faultyHost()
  const backend = createWasmBackend({ wasi: host.wasi, fdSyncAsync: asyncFsync ? host.fdSyncAsync : undefined })
  const api = createApi({ backend, views: new WeakMap() }, null, nodePaths)
  return { ...host, backend, api }
}

// --- files, bytes, leaks

let serial = 0
/** A fresh path in the temporary directory, holding `data` if given. */
function file(data) {
  const p = path.join(dir, `f${serial++}.bin`)
  if (data !== undefined) fs.writeFileSync(p, data)
  return p
}

const fileBytes = (p) => new Uint8Array(fs.readFileSync(p))
const copy = (view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice()

/** a equals b (a short message, not a diff of every byte). */
function same(a, b, what) {
  let at = 0
  while (at < a.length && at < b.length && a[at] === b[at]) at++
  if (at < a.length || at < b.length) {
    assert.unreachable(
      `${what}: ${a.length} bytes, expected ${b.length}; first difference at ${at} (${a[at]}, expected ${b[at]})`
    )
  }
}

/** Every byte of the file is the one synced before or the view's; outside `changed` (chunk indexes) the synced one. */
function syncedIntact(p, synced, view, changed, what) {
  const now = fileBytes(p)
  assert.is(now.length, synced.length, `${what}: the file keeps its size`)
  for (let i = 0; i < now.length; i++) {
    if (now[i] === synced[i]) continue
    if (!changed.includes(Math.floor(i / CHUNK)) || now[i] !== view[i]) {
      assert.unreachable(`${what}: byte ${i} of the file is ${now[i]}, synced ${synced[i]}, the view has ${view[i]}`)
    }
  }
}

/** Descriptors of this process open on files of the temporary directory. */
function fdsInDir() {
  let n = 0
  for (const entry of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${entry}`).startsWith(dir + path.sep)) n++
    } catch {
      // closed while listing (readdir's own descriptor)
    }
  }
  return n
}

/** What a test must leave as it found it: descriptors into the temp dir and live instances. */
function leakCheck(w) {
  const fds = fdsInDir()
  const live = w.backend.stats.liveInstances
  return (what) => {
    assert.is(fdsInDir(), fds, `${what}: no descriptor left behind`)
    assert.is(w.backend.stats.liveInstances, live, `${what}: no instance left behind`)
  }
}

/** A fresh world, and an 'rw' view of a new file of `size` bytes, changed at `at` and synced. */
function syncedView(size, seed, at) {
  const w = world()
  const p = file(pattern(size, seed))
  const leaks = leakCheck(w)
  const v = w.api.open(p, Uint8Array, 'rw')
  for (const i of at) v[i] ^= 1
  w.api.sync(v)
  return { w, p, v, leaks, synced: copy(v) }
}

/** The error `call` throws (or its Promise rejects with). */
async function failure(call) {
  try {
    await call()
  } catch (error) {
    return error
  }
  assert.unreachable('expected a failure')
}

/** A file-system error as users see it: `mmapfile.<fn>: CODE: description, syscall 'path'[suffix]`. */
function systemError(error, { fn, code, syscall, p, suffix = '' }) {
  assert.instance(error, Error)
  assert.not.instance(error, TypeError)
  assert.not.instance(error, RangeError)
  assert.is(error.code, code)
  assert.is(error.syscall, syscall)
  assert.is(error.path, p)
  assert.is(error.message, `mmapfile.${fn}: ${code}: ${DESCRIPTION[code]}, ${syscall} '${p}'${suffix}`)
}

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
