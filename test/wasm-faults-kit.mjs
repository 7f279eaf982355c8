// What the wasm fault-injection tests (test/wasm-faults*.test.mjs) share: the backend bundled as users
// see it, a WASI host that fails on demand, and the checks made after each fault.
//
// Bundles src/front/api.ts, src/wasm/node.ts and src/node/host.ts into a temporary directory, so that errors
// read as users see them, over a fresh backend per test (keys are drawn once per backend).
import * as assert from 'uvu/assert'
import { build } from 'esbuild'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildModuleIfStale } from './wasm-module.mjs'
import { pattern } from './pattern.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
export const CHUNK = 65536
// WASI errnos (src/wasm/errno.ts)
export const EIO = 29
export const EMFILE = 33
export const ENOSPC = 51
const DESCRIPTION = { EIO: 'i/o error', ENOSPC: 'no space left on device', EMFILE: 'too many open files' }
export const EMPTIED = ' (the existing file had been emptied: its old bytes are gone)'

buildModuleIfStale(root)
export const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-wasm-faults-'))
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
export function world({ asyncFsync = true } = {}) {
  const host = faultyHost()
  const backend = createWasmBackend({ wasi: host.wasi, fdSyncAsync: asyncFsync ? host.fdSyncAsync : undefined })
  const api = createApi({ backend, views: new WeakMap() }, null, nodePaths)
  return { ...host, backend, api }
}

// --- files, bytes, leaks

let serial = 0
/** A fresh path in the temporary directory, holding `data` if given. */
export function file(data) {
  const p = path.join(dir, `f${serial++}.bin`)
  if (data !== undefined) fs.writeFileSync(p, data)
  return p
}

export const fileBytes = (p) => new Uint8Array(fs.readFileSync(p))
export const copy = (view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice()

/** a equals b (a short message, not a diff of every byte). */
export function same(a, b, what) {
  let at = 0
  while (at < a.length && at < b.length && a[at] === b[at]) at++
  if (at < a.length || at < b.length) {
    assert.unreachable(
      `${what}: ${a.length} bytes, expected ${b.length}; first difference at ${at} (${a[at]}, expected ${b[at]})`
    )
  }
}

/** Every byte of the file is the one synced before or the view's; outside `changed` (chunk indexes) the synced one. */
export function syncedIntact(p, synced, view, changed, what) {
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
export function fdsInDir() {
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
export function leakCheck(w) {
  const fds = fdsInDir()
  const live = w.backend.stats.liveInstances
  return (what) => {
    assert.is(fdsInDir(), fds, `${what}: no descriptor left behind`)
    assert.is(w.backend.stats.liveInstances, live, `${what}: no instance left behind`)
  }
}

/** A fresh world, and an 'rw' view of a new file of `size` bytes, changed at `at` and synced. */
export function syncedView(size, seed, at) {
  const w = world()
  const p = file(pattern(size, seed))
  const leaks = leakCheck(w)
  const v = w.api.open(p, Uint8Array, 'rw')
  for (const i of at) v[i] ^= 1
  w.api.sync(v)
  return { w, p, v, leaks, synced: copy(v) }
}

/** The error `call` throws (or its Promise rejects with). */
export async function failure(call) {
  try {
    await call()
  } catch (error) {
    return error
  }
  assert.unreachable('expected a failure')
}

/** A file-system error as users see it: `mmapfile.<fn>: CODE: description, syscall 'path'[suffix]`. */
export function systemError(error, { fn, code, syscall, p, suffix = '' }) {
  assert.instance(error, Error)
  assert.not.instance(error, TypeError)
  assert.not.instance(error, RangeError)
  assert.is(error.code, code)
  assert.is(error.syscall, syscall)
  assert.is(error.path, p)
  assert.is(error.message, `mmapfile.${fn}: ${code}: ${DESCRIPTION[code]}, ${syscall} '${p}'${suffix}`)
}
