// The `mmapfile` entry: backend choice at load (MMAPFILE_BACKEND), fallback when the addon cannot
// work, ESM default and named exports, CommonJS for every entry, and the TypeScript types. Each
// case runs in a child process, since the choice is made once per process.
// This file: backend choice and fallback; test/unified-exports.test.ts: exports and types.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { assertChildOk, childReport, repoRoot, runChild, skipTest, tmpDir, tmpFile } from './helpers'
import { report } from './unified-child'

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
