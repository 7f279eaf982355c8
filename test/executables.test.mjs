// Single executables of an app that uses mmapfile, each built and then run alone in an empty
// folder, where it round-trips a file and reports its backend:
//  - Node's single executable applications (this node: esbuild bundles the app into one CommonJS
//    file, node --experimental-sea-config makes the blob, postject injects it into a copy of node).
//    There `require` loads built-in modules only: alone, the executable runs on the wasm embedded in
//    the bundle; with mmapfile.node beside it, the bundled loader finds it there and loads it through
//    module.createRequire, and it runs native.
//  - `bun build --compile` (the bun in MMAPFILE_TEST_BUN, which scripts/test-runtimes.mjs sets): Bun
//    embeds the addon given as a second entry point; the bundled loader finds it beside itself in
//    Bun's embedded file system: native. Without it: wasm. The project it is built from is removed
//    before the executable runs: Bun bakes the package's path in, and the loader would find the
//    addon there on the machine that built it.
//  - `deno compile` (MMAPFILE_TEST_DENO): it needs a runtime (denort) that it downloads from Deno's
//    servers, which the npm registry does not carry; where that download fails, the case skips with
//    Deno's error.
// Run: node test/executables.test.mjs
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const root = fileURLToPath(new URL('..', import.meta.url))
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-executables-')))
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }))
const addon = ['build/Release/mmapfile.node', `prebuilds/${process.platform}-${process.arch}/mmapfile.node`]
  .map((f) => path.join(root, f))
  .find((f) => fs.existsSync(f))

// The app's project: its source and node_modules/mmapfile (this repo, as npm link would give it).
const app = path.join(tmp, 'app')
fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true })
fs.symlinkSync(root, path.join(app, 'node_modules', 'mmapfile'), 'dir')
fs.writeFileSync(
  path.join(app, 'package.json'),
  JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { mmapfile: '*' } })
)
fs.writeFileSync(
  path.join(app, 'app.mjs'),
  `import { create, open, close, backend, backendError } from 'mmapfile'
const out = create('round-trip.bin', 4, Int32Array)
out[0] = 1
out[3] = -7
close(out)
const back = open('round-trip.bin', Int32Array)
const values = Array.from(back)
close(back)
console.log(JSON.stringify({ backend, backendError: backendError ? backendError.message : null, values }))
`
)

/**
 * A project of the app with a copy of what the package ships (not a link to this repo) in
 * node_modules: deno compile embeds node_modules whole, and bun build --compile bakes the
 * package's absolute path in, where the loader would find this machine's addon. Returns its folder.
 */
function stageApp(name) {
  const dir = path.join(tmp, name)
  const pkg = path.join(dir, 'node_modules', 'mmapfile')
  fs.mkdirSync(pkg, { recursive: true })
  for (const f of ['package.json', 'dist']) fs.cpSync(path.join(root, f), path.join(pkg, f), { recursive: true })
  if (addon !== undefined) {
    fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true })
    fs.copyFileSync(addon, path.join(pkg, 'build', 'Release', 'mmapfile.node'))
  }
  fs.cpSync(path.join(root, 'node_modules', 'node-gyp-build'), path.join(dir, 'node_modules', 'node-gyp-build'), {
    recursive: true
  })
  for (const f of ['package.json', 'app.mjs']) fs.copyFileSync(path.join(app, f), path.join(dir, f))
  return dir
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 5 * 60_000, ...options })
  return { ...r, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ?? ''}` }
}

function assertOk(r, what) {
  assert.ok(r.status === 0, `${what} failed (exit ${r.status ?? r.signal}):\n${r.output.slice(-3000)}`)
}

let folders = 0
/** Copies `files` into a new empty folder, runs the first there, returns its report. */
function runAlone(files) {
  const dir = path.join(tmp, `run-${++folders}`)
  fs.mkdirSync(dir)
  for (const f of files) fs.copyFileSync(f, path.join(dir, path.basename(f)))
  const env = { ...process.env }
  delete env.MMAPFILE_BACKEND
  const r = run(path.join(dir, path.basename(files[0])), [], { cwd: dir, env })
  assertOk(r, `the executable ${path.basename(files[0])}`)
  const got = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.equal(got.values, [1, 0, 0, -7], 'values read back')
  return got
}

/** Skips `name` on suite `s`, printing why, where `reason` is a string. */
function unless(s, reason) {
  return (name, fn) => {
    if (reason === null) return s(name, fn)
    console.log(`# skip: "${name}": ${reason}`)
    s.skip(name, fn)
  }
}

// ---------------------------------------------------------------------------------------------
const sea = suite('Node single executable application')
const seaMissing =
  process.platform !== 'linux'
    ? `built and run on Linux only here (macOS and Windows need the binary re-signed), not ${process.platform}`
    : addon === undefined
      ? 'no addon built (npm run build:addon)'
      : null
let executable = null

unless(sea, seaMissing)(
  'esbuild bundle + sea-config + postject make an executable; alone, it runs on wasm',
  async () => {
    const dir = path.join(tmp, 'sea')
    fs.mkdirSync(dir)
    await build({
      entryPoints: [path.join(app, 'app.mjs')],
      absWorkingDir: app,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: path.join(dir, 'app.cjs'),
      logLevel: 'error'
    })
    fs.writeFileSync(
      path.join(dir, 'sea-config.json'),
      JSON.stringify({ main: 'app.cjs', output: 'app.blob', disableExperimentalSEAWarning: true })
    )
    assertOk(
      run(process.execPath, ['--experimental-sea-config', 'sea-config.json'], { cwd: dir }),
      'node --experimental-sea-config'
    )
    executable = path.join(dir, 'app')
    fs.copyFileSync(process.execPath, executable)
    fs.chmodSync(executable, 0o755)
    const postject = path.join(root, 'node_modules', 'postject', 'dist', 'cli.js')
    assertOk(
      run(
        process.execPath,
        [
          postject,
          executable,
          'NODE_SEA_BLOB',
          path.join(dir, 'app.blob'),
          '--sentinel-fuse',
          'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
        ],
        { cwd: dir }
      ),
      'postject'
    )
    const got = runAlone([executable])
    assert.is(got.backend, 'wasm')
    assert.type(got.backendError, 'string')
  }
)

unless(sea, seaMissing)('with mmapfile.node beside it, the same executable runs native (module.createRequire)', () => {
  if (executable === null) assert.unreachable('no executable (the case above failed)')
  const beside = path.join(tmp, 'mmapfile.node')
  fs.copyFileSync(addon, beside)
  const got = runAlone([executable, beside])
  assert.is(got.backend, 'native', `backendError: ${got.backendError}`)
})

sea.run()

// ---------------------------------------------------------------------------------------------
const bun = suite('bun build --compile')
const bunBinary = process.env.MMAPFILE_TEST_BUN
const bunMissing = !bunBinary
  ? 'no Bun binary: MMAPFILE_TEST_BUN is unset (npm run test:runtimes sets it)'
  : addon === undefined
    ? 'no addon built (npm run build:addon)'
    : null

for (const [name, withAddon] of [
  ['with the addon as a second entry point, the executable runs native (Bun embeds it)', true],
  ['alone, it runs on wasm', false]
]) {
  unless(bun, bunMissing)(name, () => {
    const out = path.join(tmp, `bun-app-${withAddon ? 'native' : 'wasm'}`)
    const src = stageApp(`bun-src-${withAddon ? 'native' : 'wasm'}`)
    const entries = [
      'app.mjs',
      ...(withAddon ? [path.join('node_modules', 'mmapfile', 'build', 'Release', 'mmapfile.node')] : [])
    ]
    assertOk(run(bunBinary, ['build', '--compile', ...entries, '--outfile', out], { cwd: src }), 'bun build --compile')
    fs.rmSync(src, { recursive: true })
    const got = runAlone([out])
    assert.is(got.backend, withAddon ? 'native' : 'wasm', `backendError: ${got.backendError}`)
  })
}

bun.run()

// ---------------------------------------------------------------------------------------------
const deno = suite('deno compile')
const denoBinary = process.env.MMAPFILE_TEST_DENO
let denoMissing = !denoBinary ? 'no Deno binary: MMAPFILE_TEST_DENO is unset (npm run test:runtimes sets it)' : null
let denoBuilt = null
if (denoMissing === null) {
  // Tried before the case is declared: whether it can run at all is what decides a skip.
  const denoApp = stageApp('deno-src')
  const out = path.join(tmp, 'deno-app')
  const r = run(denoBinary, ['compile', '--no-check', '-A', '--output', out, 'app.mjs'], {
    cwd: denoApp,
    env: { ...process.env, NO_COLOR: '1', DENO_DIR: path.join(tmp, 'deno-dir') }
  })
  const download = /error sending request for url \((\S+)\)|dns error|download/i.exec(r.output)
  if (r.status === 0) denoBuilt = out
  else if (download)
    denoMissing = `deno compile downloads its runtime (denort) from Deno's servers, which the npm registry does not carry: ${r.output
      .split('\n')
      .find((l) => /url|dns|download/i.test(l))
      ?.trim()}`
  else denoBuilt = r
}

unless(deno, denoMissing)('the executable runs native (-A: --allow-ffi)', () => {
  if (typeof denoBuilt !== 'string') assert.unreachable(`deno compile failed:\n${denoBuilt.output.slice(-3000)}`)
  const got = runAlone([denoBuilt])
  assert.is(got.backend, 'native', `backendError: ${got.backendError}`)
})

deno.run()
