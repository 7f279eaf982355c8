// The `mmapfile` entry: backend choice at load (MMAPFILE_BACKEND), fallback when the addon cannot
// work, ESM default and named exports, CommonJS for every entry, and the TypeScript types. Each
// case runs in a child process, since the choice is made once per process.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { assertChildOk, childReport, repoRoot, runChild, skipTest, tmpDir, tmpFile } from './helpers'

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

const report = "const report = (o) => process.stdout.write(JSON.stringify(o) + '\\n')\n"

/** A child that imports `mmapfile`, does a round trip and reports which backend it got. */
const probe = `${report}
import * as fs from 'node:fs'
const m = await import('mmapfile')
const p = process.argv[2]
const v = m.create(p, 3, Int32Array)
v[2] = 42
m.close(v)
const w = m.open(p, Int32Array)
const ok = w[2] === 42 && m.info(w).backend === m.backend
m.close(w)
report({ backend: m.backend, backendError: m.backendError === null ? null : String(m.backendError?.message ?? m.backendError), ok, size: fs.statSync(p).size })
`

// ---------------------------------------------------------------------------------------------
const sel = suite('mmapfile backend selection')

for (const [value, expected] of [
  [undefined, 'native'],
  ['', 'native'],
  ['auto', 'native'],
  ['native', 'native'],
  ['wasm', 'wasm']
] as Array<[string | undefined, string]>) {
  sel(`MMAPFILE_BACKEND ${value === undefined ? 'unset' : `'${value}'`} gives ${expected}`, async () => {
    const r = await runChild(probe, { env: { MMAPFILE_BACKEND: value }, args: [tmpFile()] })
    assertChildOk(r, `MMAPFILE_BACKEND=${String(value)}`)
    const out = childReport(r, `MMAPFILE_BACKEND=${String(value)}`)
    assert.is(out.backend, expected, 'backend')
    assert.is(out.ok, true, 'a round trip through the chosen backend')
    assert.is(out.size, 12)
    if (expected === 'native') assert.is(out.backendError, null, 'backendError when native was used')
  })
}

for (const value of ['bogus', 'NATIVE', 'Wasm', ' native', 'none', '0']) {
  sel(`MMAPFILE_BACKEND '${value}' is an error at load that lists the allowed values (ESM and CommonJS)`, async () => {
    const r = await runChild(
      `${report}
import { createRequire } from 'node:module'
const out = {}
try { await import('mmapfile'); out.esm = null } catch (e) { out.esm = String(e?.message ?? e) }
try { createRequire(import.meta.url)('mmapfile'); out.cjs = null } catch (e) { out.cjs = String(e?.message ?? e) }
report(out)
`,
      { env: { MMAPFILE_BACKEND: value } }
    )
    assertChildOk(r, `MMAPFILE_BACKEND=${value}`)
    const out = childReport(r, `MMAPFILE_BACKEND=${value}`)
    for (const kind of ['esm', 'cjs']) {
      assert.type(out[kind], 'string', `${kind}: loading mmapfile failed`)
      for (const allowed of ['auto', 'native', 'wasm'])
        assert.ok(out[kind].includes(allowed), `${kind}: the message lists '${allowed}': ${out[kind]}`)
    }
  })
}

sel('MMAPFILE_BACKEND does not affect mmapfile/native and mmapfile/wasm', async () => {
  const r = await runChild(
    `${report}
const n = await import('mmapfile/native')
const w = await import('mmapfile/wasm')
report({ n: n.backend, w: w.backend })
`,
    { env: { MMAPFILE_BACKEND: 'wasm' } }
  )
  assertChildOk(r, 'entries under MMAPFILE_BACKEND=wasm')
  assert.equal(childReport(r, 'entries'), { n: 'native', w: 'wasm' })
})

sel.run()

// ---------------------------------------------------------------------------------------------
const fbSuite = suite('mmapfile fallback when the addon cannot work')
const INJECT = { MMAPFILE_INJECT_NO_EXTERNAL_BUFFERS: '1' }
/** The addon acts out a runtime without external buffers through a hook that test builds alone have (binding.gyp). */
function addonHasTestHooks(): boolean {
  try {
    return createRequire(path.join(repoRoot, 'package.json'))('node-gyp-build')(repoRoot).testHooks === true
  } catch {
    return false
  }
}
const fb = addonHasTestHooks()
  ? fbSuite
  : (name: string, fn: () => unknown) =>
      skipTest(
        fbSuite,
        name,
        fn,
        'the addon was built without its test hook: npm run build:addon builds it in (build:addon:release and the prebuilds leave it out)'
      )

fb("import('mmapfile/native') rejects catchably: exit 0, nothing on stderr", async () => {
  const r = await runChild(
    `${report}
let caught = null
try { await import('mmapfile/native') } catch (e) { caught = { name: e?.name, message: String(e?.message ?? e) } }
report({ caught })
`,
    { env: INJECT }
  )
  assertChildOk(r, "import('mmapfile/native') with no external buffers")
  const out = childReport(r, "import('mmapfile/native')")
  assert.ok(out.caught !== null, 'the import did not reject')
  assert.ok(out.caught.message.length > 0, 'the error says why')
})

fb("require('mmapfile/native') throws catchably", async () => {
  const r = await runChild(
    `${report}
import { createRequire } from 'node:module'
let caught = null
try { createRequire(import.meta.url)('mmapfile/native') } catch (e) { caught = String(e?.message ?? e) }
report({ caught })
`,
    { env: INJECT }
  )
  assertChildOk(r, "require('mmapfile/native') with no external buffers")
  assert.type(childReport(r, "require('mmapfile/native')").caught, 'string')
})

fb('mmapfile falls back to wasm, and backendError says why', async () => {
  for (const value of [undefined, 'auto', '']) {
    const r = await runChild(probe, { env: { ...INJECT, MMAPFILE_BACKEND: value }, args: [tmpFile()] })
    assertChildOk(r, `fallback, MMAPFILE_BACKEND=${String(value)}`)
    const out = childReport(r, 'fallback')
    assert.is(out.backend, 'wasm', `MMAPFILE_BACKEND=${String(value)}: backend`)
    assert.is(out.ok, true, 'a round trip through wasm')
    assert.type(out.backendError, 'string', 'backendError is set')
    assert.match(out.backendError, /external/i, 'backendError names the missing external buffers')
  }
})

fb('MMAPFILE_BACKEND=native where the addon cannot work is a clear error at load', async () => {
  const r = await runChild(
    `${report}
let caught = null
try { await import('mmapfile') } catch (e) { caught = String(e?.message ?? e) }
report({ caught })
`,
    { env: { ...INJECT, MMAPFILE_BACKEND: 'native' } }
  )
  assertChildOk(r, 'MMAPFILE_BACKEND=native without external buffers')
  const { caught } = childReport(r, 'MMAPFILE_BACKEND=native')
  assert.type(caught, 'string', 'loading mmapfile did not fail')
  assert.ok(caught.length > 0)
})

/**
 * A copy of the package (package.json and dist/) installed in a fresh project, without its
 * dependency node-gyp-build, its build/ and its prebuilds/: no addon can be found.
 */
function projectWithoutAddon(): string {
  const dir = path.join(tmpDir, 'no-addon')
  if (!fs.existsSync(dir)) {
    const pkg = path.join(dir, 'node_modules', 'mmapfile')
    fs.mkdirSync(pkg, { recursive: true })
    fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(pkg, 'package.json'))
    fs.cpSync(path.join(repoRoot, 'dist'), path.join(pkg, 'dist'), { recursive: true })
  }
  return dir
}

// Needs no test hook: the addon is absent.
fbSuite(
  'MMAPFILE_BACKEND=native with no addon to load: says where it looked, why, and what to do; the cause is kept',
  () => {
    const dir = projectWithoutAddon()
    fs.writeFileSync(
      path.join(dir, 'check.mjs'),
      `${report}
import { createRequire } from 'node:module'
const out = {}
const seen = (e) => ({ message: String(e?.message), cause: String(e?.cause?.message), causeCode: e?.cause?.code ?? null })
try { await import('mmapfile'); out.esm = null } catch (e) { out.esm = seen(e) }
try { createRequire(import.meta.url)('mmapfile/native'); out.native = null } catch (e) { out.native = seen(e) }
out.fallback = await import('mmapfile/wasm').then((m) => m.backend)
report(out)
`
    )
    const env: Record<string, string> = { ...(process.env as Record<string, string>), MMAPFILE_BACKEND: 'native' }
    delete env.NODE_PATH
    const r = spawnSync(process.execPath, ['check.mjs'], { cwd: dir, env, encoding: 'utf8' })
    assert.is(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
    const pkg = path.join(dir, 'node_modules', 'mmapfile')
    for (const [kind, asked, instead] of [
      ['esm', 'MMAPFILE_BACKEND=native', "unset MMAPFILE_BACKEND, or import 'mmapfile/wasm'"],
      ['native', "import 'mmapfile/native'", "import 'mmapfile' (which falls back to it) or 'mmapfile/wasm'"]
    ]) {
      const got = out[kind]
      assert.ok(got !== null, `${kind}: loading did not fail`)
      assert.ok(
        got.message.startsWith(
          `mmapfile: ${asked} asks for the native backend, but its addon cannot be loaded: looked for ` +
            `${path.join(pkg, 'build', 'Release', 'mmapfile.node')} and ${path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'mmapfile.node')}; ` +
            "the loader said: Cannot find module 'node-gyp-build'. To get the addon: "
        ),
        `${kind}: ${got.message}`
      )
      assert.ok(
        got.message.includes('`npm explore mmapfile -- npm run build:addon`'),
        `${kind}: says how to build it: ${got.message}`
      )
      assert.ok(
        got.message.endsWith(`To run on WebAssembly instead: ${instead}.`),
        `${kind}: says what else to do: ${got.message}`
      )
      assert.match(got.cause, /^Cannot find module 'node-gyp-build'/, `${kind}: the cause`)
      assert.is(got.causeCode, 'MODULE_NOT_FOUND', `${kind}: the cause's code`)
    }
    assert.is(out.fallback, 'wasm', 'mmapfile/wasm still loads there')
  }
)

fbSuite.run()

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
