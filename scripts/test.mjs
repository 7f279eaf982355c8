// npm test: bundles test/*.test.ts into build/test/*.mjs with esbuild, then runs every bundled
// test and every test/*.test.mjs in its own `node --expose-gc` process, one after the other,
// streaming their output. Each runs through scripts/uvu-file.mjs, which hands back uvu's own counts
// of passed, failed and skipped tests (not parsed from the output); the run adds them up and ends
// with one line: `N passed, N failed[, N skipped]`. A file that hands back no counts (it did not
// load, or exited before its suites ended), exits non-zero without a failed test, or is killed by
// a signal, counts as one failure. scripts/check-win32.sh, where it exists, is one more counted
// check: passed (exit 0), or skipped (exit 77, with its reason: no MinGW), never a silent pass; so
// is the formatter's check (prettier --check).
//
// Skips: a test that cannot run here prints `# skip: "<test>": <reason>` (test/helpers.ts
// requires()); the run lists every such line before its closing line.
//
// Assumes `npm install` has built dist/ and the addon. `node scripts/test.mjs native` runs only
// the files whose name contains "native".
import { build } from 'esbuild'
import { spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname } from 'node:path'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildModuleIfStale } from '../test/wasm-module.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

const filters = process.argv.slice(2)
const wanted = (name) => filters.length === 0 || filters.some((f) => name.includes(f))
// A guard against a hung file, not a measure of speed: the suite asserts no timings.
const FILE_DEADLINE_MS = 30 * 60 * 1000

const totals = { passed: 0, failed: 0, skipped: 0 }
const problems = []
const skips = []

function log(line) {
  process.stdout.write(`${line}\n`)
}

/** Runs a command, streaming its output; resolves with its exit and everything it printed. */
function run(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (d) => {
      output += d
      process.stdout.write(d)
    })
    child.stderr.setEncoding('utf8').on('data', (d) => {
      output += d
      process.stderr.write(d)
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, FILE_DEADLINE_MS)
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

/** How a process ended, for the per-file line. */
function how(result) {
  return result.timedOut
    ? 'killed after the deadline'
    : result.signal !== null
      ? `killed by ${result.signal}`
      : `exit ${result.code}`
}

function add(name, result, { passed, failed, skipped }) {
  totals.passed += passed
  totals.failed += failed
  totals.skipped += skipped
  log(`# ${name}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''} (${how(result)})`)
}

/**
 * Adds a uvu file's run to the totals: the counts scripts/uvu-file.mjs handed back, or null if it
 * handed back none (one failure). A file that exits non-zero or is killed with no failed test
 * counts one failure more. The reasons of the skips are what the file printed (test/helpers.ts
 * skipTest: `# skip: "<test>": <reason>`); uvu counts the skips.
 */
function accountUvu(name, result, counts) {
  const crashed = result.signal !== null || result.code !== 0
  const { passed, skipped } = counts ?? { passed: 0, skipped: 0 }
  let failed = counts === null ? 1 : counts.failed
  if (counts === null)
    problems.push(`${name}: handed back no counts (it did not load, or exited before its suites ended)`)
  else if (crashed && failed === 0) failed = 1
  if (counts !== null && failed > 0) problems.push(`${name}: ${failed} failed (${how(result)})`)
  const reasons = [...result.output.matchAll(/^# skip: (.+)$/gm)].map((m) => m[1])
  for (const reason of reasons) skips.push(`${name}: ${reason}`)
  // A skip must say why: one that printed no reason counts as a failure.
  if (skipped > reasons.length) {
    failed += skipped - reasons.length
    problems.push(`${name}: ${skipped - reasons.length} skipped with no reason printed`)
  }
  add(name, result, { passed, failed, skipped })
}

/**
 * A check that is no uvu file (scripts/check-win32.sh) is one test: exit 0 passed, exit 77 skipped
 * (the automake convention) with the reason its last line gives, anything else failed.
 */
const SKIP_EXIT = 77
function accountCheck(name, result) {
  const counts = { passed: 0, failed: 0, skipped: 0 }
  if (result.signal === null && result.code === SKIP_EXIT) {
    counts.skipped = 1
    skips.push(`${name}: ${result.output.trim().split('\n').pop()}`)
  } else if (result.signal === null && result.code === 0) {
    counts.passed = 1
  } else {
    counts.failed = 1
    problems.push(`${name}: failed (${how(result)})`)
  }
  add(name, result, counts)
}

/** Runs a uvu test file through scripts/uvu-file.mjs; its counts, or null if it handed back none. */
async function runUvu(file) {
  const resultsFile = join(resultsDir, `${file.replace(/[\\/]/g, '_')}.json`)
  const result = await run(process.execPath, ['--expose-gc', join('scripts', 'uvu-file.mjs'), file, resultsFile])
  let counts = null
  try {
    counts = JSON.parse(readFileSync(resultsFile, 'utf8'))
  } catch {
    // none: counted as a failure
  }
  return { result, counts }
}

// ---------------------------------------------------------------------------------------------

if (!existsSync(join(root, 'dist', 'esm', 'index.mjs'))) {
  log('# dist/ is missing: run `npm install` (or `npm run build`) before `npm test`; the tests below will fail')
}

// build/test is shared with other runs (another `npm test` in the same checkout): bundles are
// written whole and renamed into place, and nothing of build/test is removed here. Each test
// process removes its own children (build/test/children/<pid>-*).
const outdir = join('build', 'test')
const sources = readdirSync('test')
  .filter((f) => f.endsWith('.test.ts'))
  .sort()
const plain = readdirSync('test')
  .filter((f) => f.endsWith('.test.mjs'))
  .sort()

let bundled = []
try {
  buildModuleIfStale(root)
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
    // test/backend-contract.test.ts imports the backends from src/, the wasm one with its module
    loader: { '.wasm': 'binary' },
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

const resultsDir = mkdtempSync(join(tmpdir(), 'mmapfile-test-results-'))
try {
  for (const file of [...bundled, ...plain.map((f) => join('test', f))]) {
    if (!wanted(file)) continue
    log(`\n# ${file}`)
    const { result, counts } = await runUvu(file)
    accountUvu(file, result, counts)
  }
} finally {
  rmSync(resultsDir, { recursive: true, force: true })
}

const win32 = join('scripts', 'check-win32.sh')
if (existsSync(win32) && wanted(win32)) {
  log(`\n# ${win32}`)
  accountCheck(win32, await run('bash', [win32]))
}

// The formatter's check (prettier, .prettierrc.json; what it cannot parse is in .prettierignore): one
// counted check, so that a file written in another style fails npm test. `npm run format` fixes it.
const format = 'prettier --check'
if (wanted(format)) {
  log(`\n# ${format}`)
  const prettier = join('node_modules', 'prettier', 'bin', 'prettier.cjs')
  accountCheck(
    format,
    await run(process.execPath, [prettier, '--check', '--log-level', 'warn', '**/*.{ts,mts,cts,js,mjs,cjs}'])
  )
}

log('')
for (const s of skips) log(`# SKIPPED ${s}`)
for (const p of problems) log(`# FAILED ${p}`)
log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`)
process.exitCode = totals.failed > 0 ? 1 : 0
