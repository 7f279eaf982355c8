// npm test: bundles test/*.test.ts into build/test/*.mjs with esbuild, then runs every bundled
// test and every test/*.test.mjs in its own `node --expose-gc` process, one after the other,
// streaming their output. Counts uvu's totals (and node:test's, for files that use it) over the
// whole run and ends with one line: `N passed, N failed[, N skipped]`. A file that exits non-zero
// without a failed test, or is killed by a signal, counts as one failure. scripts/check-win32.sh,
// where it exists, is one more counted check: passed, or skipped where it prints
// `check-win32: skipped: <reason>` (no MinGW).
//
// Skips: a test that cannot run here prints `# skip: "<test>": <reason>` (test/helpers.ts
// requires()); the run lists every such line before its closing line.
//
// Assumes `npm install` has built dist/ and the addon. `node scripts/test.mjs native` runs only
// the files whose name contains "native".
import { build } from 'esbuild'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

const filters = process.argv.slice(2)
const wanted = (name) => filters.length === 0 || filters.some((f) => name.includes(f))
// A guard against a hung file, not a measure of speed: the suite asserts no timings.
const FILE_DEADLINE_MS = 30 * 60 * 1000

const totals = { passed: 0, failed: 0, skipped: 0 }
const problems = []
const skips = []

function log (line) {
  process.stdout.write(`${line}\n`)
}

/** Runs a command, streaming its output; resolves with its exit and everything it printed. */
function run (command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (d) => { output += d; process.stdout.write(d) })
    child.stderr.setEncoding('utf8').on('data', (d) => { output += d; process.stderr.write(d) })
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, FILE_DEADLINE_MS)
    child.on('error', (error) => {
      clearTimeout(timer)
      resolve({ code: null, signal: null, output: `${output}\n${error.message}`, timedOut })
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output, timedOut })
    })
  })
}

function last (re, text) {
  let m
  let found = null
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`)
  while ((m = g.exec(text)) !== null) found = Number(m[1])
  return found
}

/** uvu prints Total/Passed/Skipped; node:test prints `# pass N` (tap) or `ℹ pass N` (spec). */
function countsOf (output) {
  const total = last(/^\s*Total:\s+(\d+)/m, output)
  const passed = last(/^\s*Passed:\s+(\d+)/m, output)
  if (total !== null && passed !== null) {
    return { passed, failed: total - passed, skipped: last(/^\s*Skipped:\s+(\d+)/m, output) ?? 0 }
  }
  const pass = last(/^(?:#|ℹ) pass (\d+)/m, output)
  const fail = last(/^(?:#|ℹ) fail (\d+)/m, output)
  if (pass !== null && fail !== null) {
    return { passed: pass, failed: fail, skipped: (last(/^(?:#|ℹ) skipped (\d+)/m, output) ?? 0) + (last(/^(?:#|ℹ) todo (\d+)/m, output) ?? 0) }
  }
  return null
}

/** Adds one run to the totals: its test counts, or the file itself as one check. */
function account (name, result) {
  const counts = countsOf(result.output)
  const crashed = result.signal !== null || result.code !== 0
  let { passed, failed, skipped } = counts ?? { passed: 0, failed: 0, skipped: 0 }
  const skipLine = /^[\w.-]+: skipped: (.+)$/m.exec(result.output)
  if (counts === null && !crashed && skipLine !== null) skipped = 1
  else if (counts === null && !crashed) passed = 1
  for (const m of result.output.matchAll(/^# skip: (.+)$/gm)) skips.push(`${name}: ${m[1]}`)
  if (skipLine !== null) skips.push(`${name}: ${skipLine[1]}`)
  if (crashed && failed === 0) failed = 1
  totals.passed += passed
  totals.failed += failed
  totals.skipped += skipped
  const how = result.timedOut ? 'killed after the deadline' : result.signal !== null ? `killed by ${result.signal}` : `exit ${result.code}`
  if (failed > 0) problems.push(`${name}: ${failed} failed (${how})`)
  log(`# ${name}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''} (${how})`)
}

// ---------------------------------------------------------------------------------------------

if (!existsSync(join(root, 'dist', 'esm', 'index.mjs'))) {
  log('# dist/ is missing: run `npm install` (or `npm run build`) before `npm test`; the tests below will fail')
}

// build/test is shared with other runs (another `npm test` in the same checkout): bundles are
// written whole and renamed into place, and nothing of build/test is removed here. Each test
// process removes its own children (build/test/children/<pid>-*).
const outdir = join('build', 'test')
const sources = readdirSync('test').filter((f) => f.endsWith('.test.ts')).sort()
const plain = readdirSync('test').filter((f) => f.endsWith('.test.mjs')).sort()

let bundled = []
try {
  const result = await build({
    write: false,
    entryPoints: sources.map((f) => join('test', f)),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    external: ['mmapfile', 'mmapfile/*', 'uvu', 'uvu/*'],
    sourcemap: 'inline',
    logLevel: 'warning'
  })
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true })
    const tmp = `${file.path}.${process.pid}.tmp`
    writeFileSync(tmp, file.contents)
    renameSync(tmp, file.path)
  }
  bundled = sources.map((f) => join(outdir, f.replace(/\.ts$/, '.mjs')))
} catch (error) {
  totals.failed += 1
  problems.push(`bundling test/*.test.ts: ${error.message.split('\n')[0]}`)
  log(`# bundling test/*.test.ts failed: ${error.message}`)
}

for (const file of [...bundled, ...plain.map((f) => join('test', f))]) {
  if (!wanted(file)) continue
  log(`\n# ${file}`)
  account(file, await run(process.execPath, ['--expose-gc', file]))
}

const win32 = join('scripts', 'check-win32.sh')
if (existsSync(win32) && wanted(win32)) {
  log(`\n# ${win32}`)
  const result = await run('bash', [win32])
  // one check: its output is no uvu report, only a line that may say it skipped
  account(win32, result)
}

log('')
for (const s of skips) log(`# SKIPPED ${s}`)
for (const p of problems) log(`# FAILED ${p}`)
log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`)
process.exitCode = totals.failed > 0 ? 1 : 0
