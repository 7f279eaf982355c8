// Single-file bundles of an app that uses mmapfile (esbuild --bundle --platform=node, ESM and
// CommonJS). Each bundle is copied alone (or with the mmapfile.node that mmapfile/esbuild puts
// beside it) into an empty folder outside the repo and run there in a child process, which
// round-trips a file and reports the backend it got.
//   - a bundle alone runs on WebAssembly (the .wasm is embedded);
//   - with the mmapfile/esbuild plugin, it runs on the native addon copied beside it;
//   - with mmapfile marked external, it runs on whatever node_modules/mmapfile gives (native here).
// Needs dist/ (npm run build). Run: node test/bundle.test.mjs
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const root = fileURLToPath(new URL('..', import.meta.url))
if (!fs.existsSync(path.join(root, 'dist', 'esm', 'esbuild-plugin.mjs'))) {
  console.error('bundle.test: dist/ is missing; run npm run build first')
  process.exit(1)
}
// Through the package's own exports map, as a user imports it.
const { default: mmapfilePlugin } = await import('mmapfile/esbuild')

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-bundle-')))
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }))

// The app's project: its sources and node_modules/mmapfile (this repo, as npm link would give it).
const app = path.join(tmp, 'app')
fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true })
fs.symlinkSync(root, path.join(app, 'node_modules', 'mmapfile'), 'dir')
const ROUND_TRIP = `
const file = 'round-trip.bin'
const out = create(file, 4, Int32Array)
out[0] = 1
out[3] = -7
close(out)
const back = open(file, Int32Array)
const values = Array.from(back)
close(back)
console.log(JSON.stringify({ backend, backendError: backendError ? backendError.message : null, values, size: statSync(file).size, closed: back.length }))
`
fs.writeFileSync(
  path.join(app, 'app.mjs'),
  `import { create, open, close, backend, backendError } from 'mmapfile'\nimport { statSync } from 'node:fs'\n${ROUND_TRIP}`
)
fs.writeFileSync(
  path.join(app, 'app.cjs'),
  `const { create, open, close, backend, backendError } = require('mmapfile')\nconst { statSync } = require('node:fs')\n${ROUND_TRIP}`
)

let builds = 0
/** Bundles app.mjs (esm) or app.cjs (cjs) into a folder of its own; returns that folder and the build result. */
async function bundle(format, options = {}) {
  const out = path.join(tmp, `out-${++builds}`)
  const ext = format === 'esm' ? '.mjs' : '.cjs'
  const result = await build({
    entryPoints: [path.join(app, `app${ext}`)],
    absWorkingDir: app,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    outfile: path.join(out, `app${ext}`),
    logLevel: 'silent',
    ...options
  })
  return { out, file: `app${ext}`, result }
}

/** Copies `files` of `from` into a new empty folder; returns the folder. */
function alone(from, files) {
  const dir = path.join(tmp, `run-${++builds}`)
  fs.mkdirSync(dir)
  for (const f of files) fs.copyFileSync(path.join(from, f), path.join(dir, f))
  return dir
}

/** Runs `file` in `dir` on this Node; returns the JSON line it printed. */
function run(dir, file, env = {}) {
  const childEnv = { ...process.env, ...env }
  if (!('MMAPFILE_BACKEND' in env)) delete childEnv.MMAPFILE_BACKEND
  const child = spawnSync(process.execPath, [file], { cwd: dir, env: childEnv, encoding: 'utf8', timeout: 60_000 })
  const last = child.stdout.trim().split('\n').pop()
  assert.is(child.status, 0, `${file} exited with ${child.status ?? child.signal}:\n${child.stdout}${child.stderr}`)
  return JSON.parse(last)
}

function assertRoundTrip(got, backend) {
  assert.is(got.backend, backend, `backend (backendError: ${got.backendError})`)
  assert.equal(got.values, [1, 0, 0, -7])
  assert.is(got.size, 16)
  assert.is(got.closed, 0)
}

const kb = (file) => `${(fs.statSync(file).size / 1024).toFixed(1)} KiB`

for (const format of ['esm', 'cjs']) {
  const s = suite(`bundle ${format}`)

  s('copied alone into an empty folder, runs on WebAssembly', async () => {
    const { out, file } = await bundle(format)
    assert.equal(fs.readdirSync(out), [file], 'the bundle is one file')
    console.log(`\n    ${format} bundle: ${kb(path.join(out, file))}`)
    const got = run(alone(out, [file]), file)
    assertRoundTrip(got, 'wasm')
    assert.type(got.backendError, 'string', 'backendError says why native was not used')
  })

  s("without a target (esbuild's default, esnext) still runs on this Node", async () => {
    // dist/ is built for node20, so the embedded .wasm is decoded by code this Node has.
    const { out, file } = await bundle(format, { target: undefined })
    assertRoundTrip(run(alone(out, [file]), file), 'wasm')
  })

  s('with mmapfile/esbuild, runs native from mmapfile.node beside it', async () => {
    // outfile for esm, outdir for cjs: the plugin finds the output folder either way.
    const options =
      format === 'esm'
        ? { plugins: [mmapfilePlugin()] }
        : {
            plugins: [mmapfilePlugin()],
            outfile: undefined,
            outdir: path.join(tmp, `out-dir-${builds}`),
            outExtension: { '.js': '.cjs' }
          }
    const { out, file, result } = await bundle(format, options)
    const folder = options.outdir ?? out
    assert.equal(result.warnings, [])
    assert.equal(fs.readdirSync(folder).sort(), [file, 'mmapfile.node'])
    const got = run(alone(folder, [file, 'mmapfile.node']), file)
    assertRoundTrip(got, 'native')
    assert.is(got.backendError, null)
  })

  s('with the addon beside it, MMAPFILE_BACKEND=wasm still picks WebAssembly', async () => {
    const { out, file } = await bundle(format, { plugins: [mmapfilePlugin()] })
    assertRoundTrip(run(alone(out, [file, 'mmapfile.node']), file, { MMAPFILE_BACKEND: 'wasm' }), 'wasm')
  })

  s('with mmapfile external, runs on node_modules/mmapfile (native)', async () => {
    const { out, file } = await bundle(format, { external: ['mmapfile'] })
    const dir = alone(out, [file])
    fs.mkdirSync(path.join(dir, 'node_modules'))
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'mmapfile'), 'dir')
    assertRoundTrip(run(dir, file), 'native')
  })

  s.run()
}

const plugin = suite('mmapfile/esbuild')

plugin('an addon that cannot be copied fails the build, naming mmapfile', async () => {
  try {
    await bundle('esm', { plugins: [mmapfilePlugin({ addon: path.join(tmp, 'missing.node') })] })
    assert.unreachable('the build succeeded')
  } catch (error) {
    assert.instance(error, Error)
    assert.match(error.message, /mmapfile: could not copy/)
  }
})

plugin('write: false gives a warning, not a failure', async () => {
  const { result } = await bundle('esm', { plugins: [mmapfilePlugin()], write: false })
  assert.is(result.errors.length, 0)
  assert.match(result.warnings.map((w) => w.text).join('\n'), /mmapfile: write is false/)
})

plugin('required: true turns that warning into an error', async () => {
  try {
    await bundle('esm', { plugins: [mmapfilePlugin({ required: true })], write: false })
    assert.unreachable('the build succeeded')
  } catch (error) {
    assert.match(error.message, /mmapfile: write is false/)
  }
})

plugin.run()
