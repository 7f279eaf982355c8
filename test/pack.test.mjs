// What `npm install mmapfile` gives a user, checked on the tarball `npm pack` makes:
//  - it holds the prebuilt addons (prepack: scripts/prebuild.mjs --if-stale): this machine's
//    always, and in CI (CI=true, where .ci/run installs the cross compilers) all three of
//    linux-x64, linux-arm64 and win32-x64, each the very file of prebuilds/ that the Windows and
//    arm64 suites ran where they ran first; dist/ and the addon's sources, and nothing a user does
//    not need (tests, TypeScript sources, benchmarks, build scripts);
//  - it has no install script (npm 11 warns about one on every install, and runs it only once
//    approved): installed into a fresh project, plainly and with --ignore-scripts, `mmapfile` is
//    native from the prebuild through require and import, round-trips a file, and its types check;
//  - where there is no prebuild for the platform, the install compiles nothing and `mmapfile` runs
//    on WebAssembly; `npm explore mmapfile -- npm run build:addon` then builds the addon, and
//    `mmapfile` is native.
// The package is packed from a copy of the work tree (node_modules linked, prebuilds/ with its
// times), so that `node-gyp rebuild` never touches the build/ that other tests load. Everything
// runs in child processes; npm reaches the registry only for node-gyp-build (from its cache when
// it can).
// Run: node test/pack.test.mjs
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { TARGETS, fresh } from '../scripts/prebuild.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const tuple = `${process.platform}-${process.arch}`
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-pack-')))
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }))

// npm test's environment carries npm_config_* (ignore_scripts, …) into children; a user's shell has none.
function cleanEnv(extra = {}) {
  const env = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'MMAPFILE_BACKEND' && key !== 'INIT_CWD') env[key] = value
  }
  return { ...env, ...extra }
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 10 * 60_000,
    ...options,
    env: options.env ?? cleanEnv()
  })
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`
  return { ...result, ok: result.status === 0, output }
}

/** npm's CLI script, run by this node, so that npm works under a PATH that has no npm. */
function npmCli() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'npm')
    if (dir && fs.existsSync(candidate)) return fs.realpathSync(candidate)
  }
  throw new Error('npm is not on PATH')
}
const npm = (args, options) => run(process.execPath, [npmCli(), ...args], options)

function assertOk(result, what) {
  assert.ok(result.ok, `${what} failed (exit ${result.status ?? result.signal}):\n${result.output.slice(-4000)}`)
}

/** Shared by the tests below, filled in order: a test that needs an earlier step's result says so. */
const state = { tarball: null, files: [], projects: {} }
function need(value, what) {
  if (!value) assert.unreachable(`no ${what} (an earlier test failed)`)
  return value
}

// ---------------------------------------------------------------------------------------------

const pack = suite('npm pack')

pack('packs from a copy of the work tree (prepare builds dist/ and the addon, prepack the prebuilds)', () => {
  const SKIP = new Set(['.git', 'node_modules', 'build', 'dist', '.runtimes', '.bench-tmp'])
  const src = path.join(tmp, 'src')
  fs.cpSync(root, src, {
    recursive: true,
    // prepack keeps a prebuild newer than its sources: the one the suites ran
    preserveTimestamps: true,
    filter: (from) => {
      const rel = path.relative(root, from)
      return rel === '' || (!SKIP.has(rel.split(path.sep)[0]) && !rel.endsWith('.tgz'))
    }
  })
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(src, 'node_modules'), 'dir')
  const result = npm(['pack', '--json', '--pack-destination', tmp], { cwd: src })
  assertOk(result, 'npm pack')
  // Lifecycle scripts print to the same stdout: the JSON report is the last thing on it.
  const report = JSON.parse(result.stdout.slice(result.stdout.search(/^\[\s*$/m)))[0]
  state.tarball = path.join(tmp, report.filename)
  state.files = report.files.map((f) => f.path)
  console.log(
    `\n    ${report.filename}: ${report.size} bytes packed, ${report.unpackedSize} unpacked, ${report.entryCount} files`
  )
  assert.ok(fs.existsSync(state.tarball))
})

// Every target whose toolchain is here: in CI, all three (.ci/run installs them).
const buildable = Object.keys(TARGETS).filter((name) => TARGETS[name].missing() === null)
const expected = process.env.CI === 'true' ? Object.keys(TARGETS) : buildable
pack(
  `holds the prebuilds of ${expected.join(', ')}${process.env.CI === 'true' ? ' (CI: all three)' : ' (what this machine can build)'}`,
  () => {
    const addons = need(state.tarball, 'tarball') && state.files.filter((f) => f.endsWith('.node')).sort()
    assert.ok(expected.includes(tuple), `no prebuild for this machine (${tuple})`)
    assert.equal(addons, expected.map((name) => `prebuilds/${name}/mmapfile.node`).sort())
  }
)

pack(
  'each prebuild is the file of prebuilds/ that the suites ran, where they ran first (and it is newer than its sources)',
  () => {
    const unpacked = path.join(tmp, 'prebuilds-check')
    fs.mkdirSync(unpacked)
    assertOk(run('tar', ['-xzf', need(state.tarball, 'tarball'), '-C', unpacked, 'package/prebuilds']), 'tar -x')
    const compared = []
    for (const name of expected) {
      const tested = path.join(root, 'prebuilds', name, 'mmapfile.node')
      // one older than its sources was rebuilt by prepack, as it should be
      if (!fresh(name)) continue
      const shipped = fs.readFileSync(path.join(unpacked, 'package', 'prebuilds', name, 'mmapfile.node'))
      assert.ok(
        shipped.equals(fs.readFileSync(tested)),
        `prebuilds/${name}/mmapfile.node in the tarball differs from the work tree's`
      )
      compared.push(name)
    }
    console.log(
      `\n    the same bytes as the work tree's prebuilds/: ${compared.join(', ') || 'none there (no suite ran on a prebuild before this test)'}`
    )
  }
)

pack('holds dist/ (ESM, CommonJS, types, browser) and the addon sources; no install script', () => {
  need(state.tarball, 'tarball')
  for (const file of [
    'package.json',
    'binding.gyp',
    'native/binding.c',
    'native/platform.h',
    'dist/esm/index.mjs',
    'dist/cjs/index.cjs',
    'dist/types/index.d.ts',
    'dist/browser/index.mjs',
    'dist/esm/esbuild-plugin.mjs',
    'dist/cjs/esbuild-plugin.cjs',
    'dist/types/esbuild-plugin.d.ts'
  ]) {
    assert.ok(state.files.includes(file), `${file} is missing`)
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(tmp, 'src', 'package.json'), 'utf8'))
  assert.equal(
    Object.keys(manifest.scripts).filter((s) => /^(pre|post)?install$/.test(s)),
    [],
    'install scripts'
  )
  assert.is(manifest.gypfile, false, 'gypfile: false, or npm runs node-gyp rebuild at install for binding.gyp')
})

pack('holds no tests, TypeScript sources, benchmarks, build scripts or tarballs', () => {
  need(state.tarball, 'tarball')
  const stray = state.files.filter(
    (f) =>
      /^(test|src|assembly|bench|examples|docs|build|\.ci|\.runtimes|node_modules)\//.test(f) ||
      /^scripts\/(?!install\.cjs$)/.test(f) ||
      f.endsWith('.tgz')
  )
  assert.equal(stray, [])
})

pack.run()

// ---------------------------------------------------------------------------------------------
// Installed into fresh projects, the way a user installs it.

/** A project that depends on nothing but the tarball; returns npm install's result. */
function install(name, args, env) {
  const dir = path.join(tmp, name)
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `pack-${name}`, private: true }))
  const result = npm(['install', '--no-audit', '--no-fund', '--prefer-offline', ...args], { cwd: dir, env })
  if (result.ok) state.projects[name] = dir
  return result
}

const ROUND_TRIP = `
  const file = path.join(process.cwd(), 'round-trip-' + process.pid + '.bin')
  const out = m.create(file, 4, Int32Array)
  out[0] = 1; out[3] = -7
  m.close(out)
  const back = m.open(file, Int32Array)
  const values = Array.from(back)
  m.close(back)
  let addon = null
  try { addon = require('node-gyp-build').path(path.dirname(require.resolve('mmapfile/package.json'))) } catch {}
  console.log(JSON.stringify({ backend: m.backend, backendError: m.backendError && m.backendError.message, values, size: fs.statSync(file).size, closed: back.length, addon }))
`
const CJS = `const fs = require('node:fs'); const path = require('node:path'); const m = require('mmapfile');${ROUND_TRIP}`
const ESM = `import fs from 'node:fs'; import path from 'node:path'; import { createRequire } from 'node:module'
  import m from 'mmapfile'; import * as named from 'mmapfile'
  if (named.open !== m.open || named.backend !== m.backend) throw new Error('named and default exports differ')
  const require = createRequire(import.meta.url);${ROUND_TRIP}`

/** Loads mmapfile in a child of `dir` through require or import and round-trips a file; returns its report. */
function load(dir, how) {
  const child = run(process.execPath, how === 'import' ? ['--input-type=module', '-e', ESM] : ['-e', CJS], { cwd: dir })
  assertOk(child, `${how}('mmapfile')`)
  const got = JSON.parse(child.stdout.trim().split('\n').pop())
  assert.equal(got.values, [1, 0, 0, -7], 'values read back')
  assert.is(got.size, 16)
  assert.is(got.closed, 0)
  return got
}

for (const [name, args] of [
  ['plain', []],
  ['ignore-scripts', ['--ignore-scripts']]
]) {
  const s = suite(`npm install ${['<tarball>', ...args].join(' ')}`)

  s('succeeds, and npm finds no install script of mmapfile to warn about', () => {
    const result = install(name, [need(state.tarball, 'tarball'), ...args])
    assertOk(result, 'npm install')
    // npm 11 also lists `prepare` for a tarball, which it runs only for git and folder dependencies
    assert.not.match(
      result.output,
      /mmapfile@[^\n]*\((pre|post)?install:/,
      'npm warns about an install script of mmapfile'
    )
  })

  s('compiles nothing (no build/ in the installed package)', () => {
    const dir = need(state.projects[name], 'project')
    assert.not.ok(fs.existsSync(path.join(dir, 'node_modules', 'mmapfile', 'build')))
  })

  for (const how of ['require', 'import']) {
    s(`${how}('mmapfile') is native, from the prebuild, and round-trips a file`, () => {
      const got = load(need(state.projects[name], 'project'), how)
      assert.is(got.backend, 'native', `backendError: ${got.backendError}`)
      assert.ok(String(got.addon).includes(`${path.sep}prebuilds${path.sep}${tuple}${path.sep}`), `addon: ${got.addon}`)
    })
  }

  if (name === 'plain') {
    s('mmapfile/esbuild bundles an app that runs native, alone with the copied prebuild', () => {
      const dir = need(state.projects[name], 'project')
      fs.writeFileSync(
        path.join(dir, 'app.mjs'),
        `import m from 'mmapfile'; import fs from 'node:fs'; import path from 'node:path'
        import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);${ROUND_TRIP}`
      )
      fs.writeFileSync(
        path.join(dir, 'bundle.mjs'),
        `
        import { build } from ${JSON.stringify(path.join(root, 'node_modules', 'esbuild', 'lib', 'main.js'))}
        import mmapfile from 'mmapfile/esbuild'
        await build({ entryPoints: ['app.mjs'], bundle: true, platform: 'node', target: 'node20', format: 'esm',
          outfile: 'out/app.mjs', plugins: [mmapfile({ required: true })], logLevel: 'error' })`
      )
      assertOk(run(process.execPath, ['bundle.mjs'], { cwd: dir }), 'bundling')
      const alone = path.join(tmp, 'bundle-alone')
      fs.mkdirSync(alone)
      for (const f of ['app.mjs', 'mmapfile.node']) fs.copyFileSync(path.join(dir, 'out', f), path.join(alone, f))
      const child = run(process.execPath, ['app.mjs'], { cwd: alone })
      assertOk(child, 'the bundle')
      const got = JSON.parse(child.stdout.trim().split('\n').pop())
      assert.is(got.backend, 'native', `backendError: ${got.backendError}`)
      assert.equal(got.values, [1, 0, 0, -7])
    })
  }

  s.run()
}

const types = suite('types of the installed package')

types('check with tsc --strict, module nodenext', () => {
  const dir = need(state.projects.plain, 'project')
  fs.writeFileSync(
    path.join(dir, 'check.mts'),
    `
import mmapfile, { create, close } from 'mmapfile'
import * as native from 'mmapfile/native'
import * as wasm from 'mmapfile/wasm'
import esbuildPlugin from 'mmapfile/esbuild'
const view = create('x.bin', 4, Int32Array)
const typed: Int32Array = view
const release = (v: Int32Array): void => close(v)
release(typed)
const backends: Array<'native' | 'wasm'> = [mmapfile.backend, native.backend, wasm.backend]
const plugin: { name: string } = esbuildPlugin({ required: true })
export { backends, plugin, typed }
`
  )
  const tsc = run(
    process.execPath,
    [
      path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--types',
      'node',
      '--typeRoots',
      path.join(root, 'node_modules', '@types'),
      'check.mts'
    ],
    { cwd: dir }
  )
  assertOk(tsc, 'tsc')
})

types.run()

// ---------------------------------------------------------------------------------------------
// A platform without a prebuild, on a machine without build tools.

const bare = suite('a platform without a prebuild')

bare('npm install succeeds and compiles nothing, even with no compiler on PATH', () => {
  const unpacked = path.join(tmp, 'unpacked')
  fs.mkdirSync(unpacked)
  assertOk(run('tar', ['-xzf', need(state.tarball, 'tarball'), '-C', unpacked]), 'tar -x')
  fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true, force: true })
  const tarball = path.join(tmp, 'mmapfile-no-prebuild.tgz')
  assertOk(run('tar', ['-czf', tarball, '-C', unpacked, 'package']), 'tar -c')

  // PATH holds node, sh and python3 (where there is one): no cc, make or node-gyp. Were anything
  // to compile (npm's default node-gyp rebuild for a binding.gyp, without gypfile: false), it
  // would fail the install here.
  const bin = path.join(tmp, 'bin-without-compiler')
  fs.mkdirSync(bin)
  fs.symlinkSync(process.execPath, path.join(bin, 'node'))
  for (const tool of ['sh', 'python3']) {
    const found = ['/bin', '/usr/bin'].map((d) => path.join(d, tool)).find((f) => fs.existsSync(f))
    if (found) fs.symlinkSync(found, path.join(bin, tool))
  }
  const result = install('no-prebuild', [tarball, '--foreground-scripts'], cleanEnv({ PATH: bin }))
  assertOk(result, 'npm install')
  assert.not.match(result.output, /gyp/, 'something was compiled')
  assert.not.ok(fs.existsSync(path.join(state.projects['no-prebuild'], 'node_modules', 'mmapfile', 'build')))
})

for (const how of ['require', 'import']) {
  bare(`${how}('mmapfile') is wasm, says why, and round-trips a file`, () => {
    const got = load(need(state.projects['no-prebuild'], 'project'), how)
    assert.is(got.backend, 'wasm')
    assert.type(got.backendError, 'string')
  })
}

bare('`npm explore mmapfile -- npm run build:addon` builds the addon (with a compiler), and mmapfile is native', () => {
  const dir = need(state.projects['no-prebuild'], 'project')
  assertOk(
    npm(['explore', 'mmapfile', '--', 'npm', 'run', 'build:addon'], { cwd: dir }),
    'npm explore mmapfile -- npm run build:addon'
  )
  const got = load(dir, 'import')
  assert.is(got.backend, 'native', `backendError: ${got.backendError}`)
  assert.ok(String(got.addon).endsWith(path.join('build', 'Release', 'mmapfile.node')), `addon: ${got.addon}`)
})

bare.run()
