// Child processes of the tests: a module run by the runtime under test, its report, and the libraries
// preloaded into it. Re-exported by test/helpers.ts, which the tests import.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import * as assert from 'uvu/assert'
import { pattern as patternBytes } from './pattern.mjs'
import { childDir, childFiles, repoRoot, tmpDir } from './temp-files'

// Child processes.

export interface ChildResult {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

let childCount = 0

export interface ChildOptions {
  /** entries set to undefined are removed from the child's environment */
  env?: Record<string, string | undefined>
  args?: string[]
  timeoutMs?: number
  /** `ulimit -f` for the child (see childCommand) */
  fileSizeLimit?: number
  /** a command that sets something up and then execs the command it is given as its last arguments */
  launcher?: string[]
}

/**
 * Writes `source` to <repo>/build/test/children/<pid>-<n>.mjs (inside the package, so that
 * `import 'mmapfile'` resolves through package.json "exports"); the command and environment that
 * run it with `node --expose-gc` (this runtime), through `opts.launcher` if given.
 */
function childCommand(source: string, opts: ChildOptions): { argv: string[]; env: Record<string, string> } {
  fs.mkdirSync(childDir, { recursive: true })
  const file = path.join(childDir, `${process.pid}-${++childCount}.mjs`)
  fs.writeFileSync(file, source)
  childFiles.push(file)
  const env: Record<string, string> = {}
  try {
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && k !== 'MMAPFILE_BACKEND' && !k.startsWith('MMAPFILE_INJECT_')) env[k] = v
    }
  } catch {
    // Deno without --allow-env (scripts/test-runtimes.mjs, 'deno-rw'): the child gets only what is set below
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  env.NO_COLOR = '1'
  env.FORCE_COLOR = '0'
  const argv = [...(opts.launcher ?? []), process.execPath, '--expose-gc', file, ...(opts.args ?? [])]
  // fileSizeLimit: `ulimit -f` for the child (blocks of 512 or 1024 bytes, as the shell counts),
  // with SIGXFSZ ignored (an ignored signal survives exec), so that going past it is the EFBIG
  // error under test: Node ignores SIGXFSZ itself, Deno does not.
  if (opts.fileSizeLimit === undefined) return { argv, env }
  return { argv: ['sh', '-c', `trap '' XFSZ; ulimit -f ${opts.fileSizeLimit} && exec "$0" "$@"`, ...argv], env }
}

/** Runs `source` in a child process (see childCommand). */
export function runChild(source: string, opts: ChildOptions = {}): Promise<ChildResult> {
  const { argv, env } = childCommand(source, opts)
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    // Not a timing assertion: a hung child must not hang the whole run.
    const timer = setTimeout(() => {
      stderr += '\n[test harness: child killed after timeout]'
      child.kill('SIGKILL')
    }, opts.timeoutMs ?? 180_000)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout, stderr })
    })
  })
}

/** runChild, blocking: for what a test file must know before it registers its tests. */
export function runChildSync(source: string, opts: ChildOptions = {}): ChildResult {
  const { argv, env } = childCommand(source, opts)
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 180_000
  })
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: `${r.stderr ?? ''}${r.error === undefined ? '' : `\n${r.error.message}`}`
  }
}

export function describeChild(r: ChildResult): string {
  return `status ${String(r.status)}, signal ${String(r.signal)}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`
}

/** The child exited 0, was not killed, and wrote nothing on stderr. */
export function assertChildOk(r: ChildResult, what: string): void {
  if (r.status !== 0 || r.signal !== null || r.stderr.trim() !== '') {
    assert.unreachable(`${what}: the child process failed: ${describeChild(r)}`)
  }
}

/** The last line of the child's stdout, parsed as JSON (children report with `report({...})`). */
export function childReport<T = any>(r: ChildResult, what: string): T {
  const lines = r.stdout.trim().split('\n')
  const last = lines[lines.length - 1] ?? ''
  try {
    return JSON.parse(last) as T
  } catch {
    return assert.unreachable(`${what}: no JSON report from the child: ${describeChild(r)}`) as never
  }
}

const preloads = new Map<string, string>()

/** test/<name>.c compiled once per run as an LD_PRELOAD library; throws if it cannot be compiled. */
function preloadLibrary(name: string): string {
  let library = preloads.get(name)
  if (library === undefined) {
    library = path.join(tmpDir, `${name}.so`)
    // MMAPFILE_TEST_CC: a compiler for the runtime under test where that is not this machine's
    // (scripts/test-arm64.mjs runs linux-arm64 under qemu-user: aarch64-linux-gnu-gcc).
    const r = spawnSync(
      process.env.MMAPFILE_TEST_CC || 'cc',
      ['-shared', '-fPIC', '-O2', '-o', library, path.join(repoRoot, 'test', `${name}.c`), '-ldl'],
      { encoding: 'utf8' }
    )
    if (r.status !== 0) throw new Error(`compiling test/${name}.c failed: ${r.error?.message ?? r.stderr}`)
    preloads.set(name, library)
  }
  return library
}

/**
 * The LD_PRELOAD library of test/sync-witness.c: a child run with it logs every
 * msync/fsync/fdatasync it makes to $MMAPFILE_SYNC_LOG, so that a durability test can see
 * that sync really asked the disk (on native, the bytes alone would survive SIGKILL anyway).
 */
export function syncWitness(): string {
  return preloadLibrary('sync-witness')
}

/**
 * The LD_PRELOAD library of test/fault-preload.c: a child run with it fails the calls that
 * $MMAPFILE_FAULTS names (the file says how).
 */
export function faultPreload(): string {
  return preloadLibrary('fault-preload')
}

/**
 * Source text that every child starts with: `m` is the entry under test, plus small helpers.
 * `report(o)` prints one JSON line (bigints as strings); `pattern(n, seed)` is this file's.
 */
export function childPrelude(entry: string): string {
  return `
import * as m from ${JSON.stringify(entry)}
import * as fs from 'node:fs'
const report = (o) => process.stdout.write(JSON.stringify(o, (k, v) => typeof v === 'bigint' ? v.toString() : v) + '\\n')
const maps = (needle) => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes(needle))
// Whether maps() and /proc/self/fd show this process: not on Windows (Wine shows node.exe the Unix
// side's /proc), nor under a permission model that does not allow reading it.
const seesProc = process.platform === 'linux' && (() => { try { fs.readdirSync('/proc/self/fd'); return true } catch { return false } })()
const tick = () => new Promise((resolve) => setTimeout(resolve, 5))
const gc = typeof globalThis.gc === 'function' ? globalThis.gc : () => globalThis.Bun.gc(true)
const collect = async (rounds = 6) => { for (let i = 0; i < rounds; i++) { gc(); await tick() } }
// Collects until done() holds, for at most that many rounds: a dropped view is closed once the
// collector has found it unreachable and its finalizer has run, which can take JavaScriptCore
// (Bun: conservative stack scanning, finalizers on a later turn) more rounds than V8.
const collectUntil = async (done, rounds = 100) => { for (let i = 0; i < rounds && !done(); i++) { gc(); await tick() } }
const args = process.argv.slice(2)
// test/pattern.mjs, the one definition of the tests' bytes, so that a child and its parent agree
const pattern = ${patternBytes.toString()}
`
}
