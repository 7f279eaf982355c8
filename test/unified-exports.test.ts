// The `mmapfile` entry (see test/unified.test.ts): ESM default and named exports, CommonJS for every
// entry, and the TypeScript types. Each case runs in a child process.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execFileSync } from 'node:child_process'
import { assertChildOk, childReport, repoRoot, runChild, tmpFile } from './helpers'
import { report } from './unified-child'

const ENTRIES = ['mmapfile', 'mmapfile/native', 'mmapfile/wasm']
const NAMES = [
  'create',
  'open',
  'close',
  'sync',
  'syncAsync',
  'malloc',
  'free',
  'gccreate',
  'gcopen',
  'gcmalloc',
  'resize',
  'advise',
  'info',
  'struct',
  'StructArray',
  'ERR_MMAPFILE_CLOSED',
  'PAGE_SIZE',
  'capabilities',
  'backend',
  'backendError'
]

// ---------------------------------------------------------------------------------------------
const ex = suite('mmapfile exports')

ex('ESM: every entry has the named exports, and a default export holding the same values', async () => {
  const r = await runChild(`${report}
const names = ${JSON.stringify(NAMES)}
const out = {}
for (const entry of ${JSON.stringify(ENTRIES)}) {
  const m = await import(entry)
  out[entry] = {
    missing: names.filter((n) => !(n in m)),
    different: names.filter((n) => m.default?.[n] !== m[n]),
    backend: m.backend, backendError: m.backendError === null ? null : String(m.backendError),
    capabilities: typeof m.capabilities === 'object' && m.capabilities !== null
  }
}
report(out)
`)
  assertChildOk(r, 'ESM exports')
  const out = childReport(r, 'ESM exports')
  for (const entry of ENTRIES) {
    assert.equal(out[entry].missing, [], `${entry}: missing named exports`)
    assert.equal(out[entry].different, [], `${entry}: default export differs from the named exports`)
    assert.ok(out[entry].capabilities, `${entry}: capabilities`)
  }
  assert.is(out['mmapfile/native'].backend, 'native')
  assert.is(out['mmapfile/native'].backendError, null)
  assert.is(out['mmapfile/wasm'].backend, 'wasm')
  assert.is(out['mmapfile/wasm'].backendError, null)
})

ex('CommonJS: require works for every entry, with the same API, and maps files', async () => {
  const r = await runChild(
    `${report}
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const names = ${JSON.stringify(NAMES)}
const out = {}
for (const entry of ${JSON.stringify(ENTRIES)}) {
  const m = require(entry)
  const p = process.argv[2] + '.' + entry.replace('/', '-')
  const v = m.create(p, 2, Float64Array)
  v[1] = 2.5
  m.close(v)
  const T = m.struct({ a: 'i32', b: 'f64' })
  const w = m.open(p, T)
  out[entry] = { missing: names.filter((n) => !(n in m)), value: w.at(0).b, backend: m.backend, isF64: v instanceof Float64Array }
  m.close(w)
}
report(out)
`,
    { args: [tmpFile()] }
  )
  assertChildOk(r, 'CommonJS entries')
  const out = childReport(r, 'CommonJS entries')
  for (const entry of ENTRIES) {
    assert.equal(out[entry].missing, [], `${entry}: missing exports`)
    assert.is(out[entry].value, 2.5, `${entry}: a round trip`)
    assert.is(out[entry].isF64, true, `${entry}: create(p, n, Float64Array) is a Float64Array`)
  }
  assert.is(out['mmapfile'].backend, 'native')
  assert.is(out['mmapfile/native'].backend, 'native')
  assert.is(out['mmapfile/wasm'].backend, 'wasm')
})

ex('TypeScript: create(p, n, Int32Array) is an Int32Array, for every entry, ESM and CommonJS', () => {
  const dir = path.join(repoRoot, 'build', 'test', 'types')
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        types: ['node'],
        skipLibCheck: false,
        lib: ['ES2022']
      },
      files: ['check.mts', 'check.cts']
    })
  )
  fs.writeFileSync(
    path.join(dir, 'check.mts'),
    `
import { create, open, malloc, resize, struct, close, sync, info, ERR_MMAPFILE_CLOSED, StructArray } from 'mmapfile'
import type { MmapfileError, SystemError } from 'mmapfile'
import mm from 'mmapfile'
import * as nat from 'mmapfile/native'
import * as wasm from 'mmapfile/wasm'
const a: Int32Array = create('x', 1, Int32Array)
const b: Uint8Array = create('x', 1)
const c: Float64Array = open('x', Float64Array, 'rw', { offset: 1, length: 8 })
const d: BigInt64Array = malloc(2, BigInt64Array)
// a view annotated as the plain typed-array type goes back into every function
const e: Int32Array = resize(a, 4)
sync(a)
close(a)
const i: number = info(c).byteLength
const f: Int32Array = nat.create('x', 1, Int32Array)
const g: Int32Array = wasm.open('x', Int32Array)
const h: Int32Array = mm.create('x', 1, Int32Array)
const T = struct({ a: 'i32', b: 'f64' })
const s = create('x', 1, T)
const n: number = s.length
// @ts-expect-error an Int32Array view is not a Float64Array
const wrong: Float64Array = create('x', 1, Int32Array)
// @ts-expect-error mode 'w' does not exist
open('x', Uint8Array, 'w')
// the error types and the closed-view code, from every entry and on the default export
const closedCode: 'ERR_MMAPFILE_CLOSED' = ERR_MMAPFILE_CLOSED
const codes: Array<'ERR_MMAPFILE_CLOSED'> = [mm.ERR_MMAPFILE_CLOSED, nat.ERR_MMAPFILE_CLOSED, wasm.ERR_MMAPFILE_CLOSED, nat.default.ERR_MMAPFILE_CLOSED]
const classes: Array<typeof StructArray> = [mm.StructArray, nat.StructArray, wasm.default.StructArray]
const isStructView: boolean = s instanceof mm.StructArray
function fields (error: unknown): Array<string | number | undefined> {
  const e = error as MmapfileError
  const sys: SystemError = error as SystemError
  const other: wasm.SystemError | nat.MmapfileError = sys
  return [e.code, e.syscall, e.path, e.errno, sys.code.toUpperCase(), sys.syscall.length, other.message]
}
export { a, b, c, d, e, f, g, h, i, n, wrong, closedCode, codes, classes, isStructView, fields }
`
  )
  fs.writeFileSync(
    path.join(dir, 'check.cts'),
    `
import m = require('mmapfile')
import w = require('mmapfile/wasm')
const a: Int32Array = m.create('x', 1, Int32Array)
const b: Int32Array = w.create('x', 1, Int32Array)
// @ts-expect-error an Int32Array view is not a Uint16Array
const c: Uint16Array = m.create('x', 1, Int32Array)
const d: 'ERR_MMAPFILE_CLOSED' = m.ERR_MMAPFILE_CLOSED
const e: m.SystemError | w.MmapfileError | null = null
const f: typeof m.StructArray = w.StructArray
export = { a, b, c, d, e, f }
`
  )
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], {
      cwd: dir,
      encoding: 'utf8',
      stdio: 'pipe'
    })
  } catch (e: any) {
    assert.unreachable(`tsc failed:\n${String(e.stdout ?? '')}${String(e.stderr ?? '')}`)
  }
})

ex(
  'TypeScript: `using` takes closing(view) and struct views (strict; lib esnext.disposable, or @types/node); the types need neither',
  () => {
    const dir = path.join(repoRoot, 'build', 'test', 'types-using')
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(dir, { recursive: true })
    const options = {
      strict: true,
      noEmit: true,
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      target: 'ES2022',
      skipLibCheck: false
    }
    const configs: Array<[string, object, string]> = [
      [
        'lib esnext.disposable, no @types/node',
        { ...options, lib: ['ES2022', 'esnext.disposable', 'DOM'], types: [] },
        'using.mts'
      ],
      ['@types/node, lib ES2022', { ...options, lib: ['ES2022'], types: ['node'] }, 'using.mts'],
      // Without either, `using` does not compile, but the package's types must: they declare Symbol.dispose.
      ['neither', { ...options, lib: ['ES2022', 'DOM'], types: [] }, 'plain.mts']
    ]
    fs.writeFileSync(
      path.join(dir, 'using.mts'),
      `
import { create, open, malloc, gcopen, resize, struct, closing } from 'mmapfile'
import * as wasm from 'mmapfile/wasm'
export function total(p: string): number {
  using a = closing(create(p, 4, Float64Array))
  using b = closing(open(p, Float64Array, 'rw', { offset: 8 }))
  using c = malloc(2, struct({ x: 'i32' }))
  using d = wasm.closing(wasm.open(p))
  using e = closing(gcopen(p, Int32Array))
  const f: Float64Array = a.view
  b.view[0] = 1
  using g = closing(resize(b.view, 2))
  c[Symbol.dispose]()
  return f[0] + b.view[0] + c.length + d.view.length + e.view.length + g.view.length
}
export function plain(p: string): number {
  // @ts-expect-error a typed-array view is a plain typed array: closing(view) makes it disposable
  using x = open(p, Float64Array)
  return x.length
}
`
    )
    fs.writeFileSync(
      path.join(dir, 'plain.mts'),
      `
import { create, close, closing, malloc, struct } from 'mmapfile/wasm'
const v = create('x', 4, Float64Array)
const f: Float64Array = v
closing(v)[Symbol.dispose]()
malloc(1, struct({ a: 'u8' }))[Symbol.dispose]()
close(f)
`
    )
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')
    for (const [name, compilerOptions, file] of configs) {
      const config = path.join(dir, `tsconfig.${file}.${configs.findIndex((c) => c[0] === name)}.json`)
      fs.writeFileSync(config, JSON.stringify({ compilerOptions, files: [file] }))
      try {
        execFileSync(process.execPath, [tsc, '-p', config], { cwd: dir, encoding: 'utf8', stdio: 'pipe' })
      } catch (e: any) {
        assert.unreachable(`tsc (${name}) failed:\n${String(e.stdout ?? '')}${String(e.stderr ?? '')}`)
      }
    }
  }
)

ex.run()
