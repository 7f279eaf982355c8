// What the tests of the WebAssembly backend on Node (test/wasm-backend*.test.mjs) share: the module
// built if assembly/ changed, src/wasm/node.ts bundled into a temporary directory and imported, a
// host with its calls counted and failed on demand, and checks of files and errors.
import * as assert from 'uvu/assert'
import { build } from 'esbuild'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildModuleIfStale } from './wasm-module.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
export const CHUNK = 65536
/** What the front passes a backend for a plain (not gc*) mapping. */
export const OPTS = { autoClose: false, sparse: false }

buildModuleIfStale(root)
export const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-wasm-test-'))
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
export const bundle = await bundleOf('wasm/node.ts', path.join(dir, 'wasm.mjs'))
const { loadWasmBackend, createWasmBackend, createNodeWasiHost } = await import(pathToFileURL(bundle).href)
/** The public API on this backend (src/wasm-entry.ts), for child processes. */
export const entryBundle = await bundleOf('wasm-entry.ts', path.join(dir, 'wasm-entry.mjs'))
export const backend = loadWasmBackend()

let serial = 0
/** A fresh path in the temporary directory, with `data` written there if given. */
export function file(data) {
  const p = path.join(dir, `f${serial++}.bin`)
  if (data !== undefined) fs.writeFileSync(p, data)
  return p
}

export const bytesOf = (m) => new Uint8Array(m.buffer, m.byteOffset, m.byteLength)

/** The file at p holds exactly `expected` (a short message, not a diff of every byte). */
export function sameFile(p, expected, what) {
  const now = new Uint8Array(fs.readFileSync(p))
  let at = 0
  while (at < now.length && at < expected.length && now[at] === expected[at]) at++
  if (at < now.length || at < expected.length) {
    assert.unreachable(`${what}: ${now.length} bytes, expected ${expected.length}; first difference at ${at}`)
  }
}
export const openFds = () => fs.readdirSync('/proc/self/fd').length

/** A backend whose WASI calls are counted and can be made to fail: faults[name] = errno. */
export function instrumented() {
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

export function allZero(bytes, what) {
  const at = bytes.findIndex((x) => x !== 0)
  if (at >= 0) assert.unreachable(`${what}: byte ${at} is ${bytes[at]}, expected 0`)
}

export function throwsWith(fn, check) {
  try {
    fn()
  } catch (error) {
    check(error)
    return
  }
  assert.unreachable('expected a throw')
}

export function systemError(code, syscall) {
  return (e) => {
    assert.instance(e, Error)
    assert.not.instance(e, RangeError)
    assert.is(e.code, code)
    assert.is(e.syscall, syscall)
  }
}
