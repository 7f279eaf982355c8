// The module needs nothing but WASI: here it runs on @bjorn3/browser_wasi_shim, whose files live in
// memory, with no Node host of ours in the bundle. Builds the module if assembly/ changed, bundles
// src/wasm/backend.ts and src/wasm/shim-host.ts for the browser platform, imports the bundle.
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
const OPTS = { autoClose: false, sparse: false }

buildModuleIfStale(root)

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-wasm-shim-'))
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
const entry = path.join(dir, 'entry.ts')
fs.writeFileSync(
  entry,
  [
    `export { createWasmBackend } from ${JSON.stringify(path.join(root, 'src/wasm/backend.ts'))}`,
    `export { createShimWasiHost } from ${JSON.stringify(path.join(root, 'src/wasm/shim-host.ts'))}`,
    "export { File, OpenFile, PreopenDirectory, ConsoleStdout } from '@bjorn3/browser_wasi_shim'"
  ].join('\n')
)
const bundle = path.join(dir, 'shim.mjs')
await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  loader: { '.wasm': 'binary' },
  nodePaths: [path.join(root, 'node_modules')],
  outfile: bundle,
  logLevel: 'warning'
})
const text = fs.readFileSync(bundle, 'utf8')
const shim = await import(pathToFileURL(bundle).href)

/** A backend on a fresh in-memory file system holding `files` (name -> bytes) under '/'. */
function onShim(files = {}) {
  const contents = new Map(Object.entries(files).map(([name, bytes]) => [name, new shim.File(bytes)]))
  const rootDir = new shim.PreopenDirectory('/', contents)
  const stdio = [
    new shim.OpenFile(new shim.File([])),
    shim.ConsoleStdout.lineBuffered(() => {}),
    shim.ConsoleStdout.lineBuffered(() => {})
  ]
  const backend = shim.createWasmBackend({ wasi: shim.createShimWasiHost(rootDir, stdio) })
  return { backend, contents }
}

const bytesOf = (m) => new Uint8Array(m.buffer, m.byteOffset, m.byteLength)

const portable = suite('wasm on browser_wasi_shim')

portable('the bundle carries no Node host: no node: imports', () => {
  assert.not.match(text, /from ["']node:/)
  assert.not.match(text, /require\(["'](node:)?fs["']\)/)
})

portable('create, write through the view, sync, reopen: the same bytes, in the view and in the shim File', () => {
  const { backend, contents } = onShim()
  const data = pattern(3 * CHUNK + 123)
  const m = backend.create('/data.bin', data.length, OPTS)
  bytesOf(m).set(data)
  backend.sync(m, 0, m.byteLength)
  const file = contents.get('data.bin')
  assert.ok(file, 'the shim has the file')
  assert.equal(new Uint8Array(file.data), data, 'the shim File holds the bytes after sync')
  backend.close(m)
  const again = backend.open('/data.bin', 'r', 0, null, OPTS)
  assert.equal(bytesOf(again), data)
  backend.close(again)
  const window = backend.open('/data.bin', 'r', CHUNK - 7, 100, OPTS)
  assert.equal(bytesOf(window), data.subarray(CHUNK - 7, CHUNK + 93))
  backend.close(window)
})

portable('rw writes back only the chunks changed: a write to the File meanwhile survives', () => {
  const data = pattern(6 * CHUNK)
  const { backend, contents } = onShim({ 'big.bin': data })
  const m = backend.open('/big.bin', 'rw', 0, null, OPTS)
  contents.get('big.bin').data[CHUNK + 1] ^= 0xff
  bytesOf(m)[4 * CHUNK] ^= 0xff
  backend.close(m)
  const now = contents.get('big.bin').data
  assert.is(now[CHUNK + 1], data[CHUNK + 1] ^ 0xff, 'the other write survived')
  assert.is(now[4 * CHUNK], data[4 * CHUNK] ^ 0xff, "the view's write arrived")
  assert.is(backend.stats.bytesWritten, CHUNK)
})

portable("'r' never writes; resize sizes the File; errors keep their codes", () => {
  const data = pattern(1000)
  const { backend, contents } = onShim({ 'a.bin': data })
  const r = backend.open('/a.bin', 'r', 0, null, OPTS)
  bytesOf(r).fill(0)
  backend.close(r)
  assert.equal(new Uint8Array(contents.get('a.bin').data), data)
  let m = backend.open('/a.bin', 'rw', 0, null, OPTS)
  m = backend.resize(m, 2 * CHUNK)
  bytesOf(m)[2 * CHUNK - 1] = 1
  backend.close(m)
  const now = contents.get('a.bin').data
  assert.is(now.length, 2 * CHUNK)
  assert.equal(new Uint8Array(now.subarray(0, 1000)), data)
  assert.is(now[2 * CHUNK - 1], 1)
  for (const [p, code] of [
    ['/missing.bin', 'ENOENT'],
    ['/', 'EISDIR']
  ]) {
    try {
      backend.open(p, 'r', 0, null, OPTS)
      assert.unreachable(p)
    } catch (error) {
      assert.is(error.code, code, p)
      assert.is(error.syscall, 'open')
    }
  }
})

portable.run()
