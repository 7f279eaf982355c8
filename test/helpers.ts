// Shared by every test file: a temp dir per run, child processes, /proc probes and error assertions.
// The bundled tests run from <repo>/build/test/*.mjs, so the repo root is two levels up.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import type { Test } from 'uvu'
import { pattern as patternBytes } from './pattern.mjs'
import { pattern } from './checks'

export * from './checks'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
export const childDir = path.join(repoRoot, 'build', 'test', 'children')

// ---------------------------------------------------------------------------------------------
// Temp files: one directory per test process, removed at exit (also on Ctrl-C).

export const tmpDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-test-')))
const childFiles: string[] = []
const removeTmp = (): void => {
  try {
    fs.rmSync(tmpDir, { recursive: true, force: true })
  } catch {
    /* best effort */
  }
  // this process's children, unless a test failed (then they are kept for a look)
  if (process.exitCode === 0 || process.exitCode === undefined) {
    for (const f of childFiles)
      try {
        fs.rmSync(f, { force: true })
      } catch {
        /* best effort */
      }
  }
}
process.on('exit', removeTmp)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    removeTmp()
    process.exit(130)
  })
}

let tmpCount = 0
/** A fresh path in the temp dir (the file does not exist yet). */
export function tmpFile(name = 'f.bin'): string {
  return path.join(tmpDir, `${++tmpCount}-${name}`)
}

/** A file holding `bytes`; returns its path. */
export function fileWith(bytes: Uint8Array | number, name = 'f.bin'): string {
  const p = tmpFile(name)
  fs.writeFileSync(p, typeof bytes === 'number' ? pattern(bytes) : bytes)
  return p
}

export function fileBytes(p: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(p))
}

export function fileSize(p: string): number {
  return fs.statSync(p).size
}

/** Reads `length` bytes at `position` without reading the whole (possibly huge, sparse) file. */
export function readAt(p: string, position: number, length: number): Uint8Array {
  const fd = fs.openSync(p, 'r')
  try {
    const buf = new Uint8Array(length)
    const n = fs.readSync(fd, buf, 0, length, position)
    return buf.subarray(0, n)
  } finally {
    fs.closeSync(fd)
  }
}

export function writeAt(p: string, position: number, bytes: Uint8Array): void {
  const fd = fs.openSync(p, 'r+')
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, position)
  } finally {
    fs.closeSync(fd)
  }
}

// ---------------------------------------------------------------------------------------------
// What a test needs of the machine. Where one is lacking, the test is registered as a skip (uvu
// counts it) and the reason is printed as `# skip: "<test>": <reason>`, which
// scripts/test.mjs lists at the end of the run.

export type Need =
  | 'proc' // this process reads /proc/self
  | 'child-proc' // a child process reads /proc/self
  | 'child-worker' // a child process starts a worker thread
  | 'posix-tools' // runs gcc, cc, sh or getconf
  | 'posix-modes' // chmod makes a file unreadable
  | 'ld-preload' // a child runs with a library preloaded (test/sync-witness.c)
  | 'not-root' // file modes bind this user
  | 'posix-cut' // a file can be cut while another view of it is mapped (beyond the cut)
  | 'wasm-memories' // thousands of WebAssembly memories, made faster than the collector frees them
  | 'fd-reopen' // this process opens a descriptor's file again through /proc/self/fd (the wasm backend's open(fd))
  | 'child-fd-reopen' // a child process does
  | 'tmpfs' // mounts a small tmpfs (a full disk on demand)
  | 'memfd' // python3 makes a sealed memfd for a child
  | 'dev-null' // this process opens /dev/null for reading and writing

interface Permission {
  has(scope: string, reference?: string): boolean
}
const permission = (process as { permission?: Permission }).permission
/** Node 22 and later start children of process.execPath under the parent's permission model; Node 20 does not. */
const childPermission =
  permission !== undefined && Number(process.versions.node.split('.')[0]) >= 22 ? permission : undefined

/** Why this machine cannot give `need`, or null. */
export function lacking(need: Need): string | null {
  const platform = process.platform
  switch (need) {
    case 'proc':
      if (platform !== 'linux') return `reads /proc, which ${platform} does not have`
      if (permission !== undefined && !permission.has('fs.read', '/proc/self/maps')) {
        return "reads /proc, which the permission model's --allow-fs-read does not cover here"
      }
      try {
        fs.readFileSync('/proc/self/maps')
        return null
      } catch (error) {
        // Deno reads /proc/self only with --allow-all
        return `reads /proc/self/maps, which this process may not: ${(error as Error).message.split('\n')[0]}`
      }
    case 'child-proc':
      if (platform !== 'linux') return `a child process reads /proc, which ${platform} does not have`
      if (childPermission !== undefined && !childPermission.has('fs.read', '/proc/self/maps')) {
        return 'a child process reads /proc, which the permission model it inherits does not allow here (--allow-fs-read)'
      }
      return null
    case 'child-worker':
      return childPermission !== undefined && !childPermission.has('worker')
        ? 'a child process starts a worker thread, which the permission model it inherits does not allow here (--allow-worker)'
        : null
    case 'posix-tools':
      return platform === 'win32'
        ? 'runs POSIX tools (gcc, cc, sh, getconf, mkfifo), which Windows does not have'
        : null
    case 'posix-modes':
      return platform === 'win32' ? 'Windows has no POSIX file modes: chmod cannot make a file unreadable' : null
    case 'ld-preload':
      return platform === 'linux' ? null : `preloads a library with LD_PRELOAD, which ${platform} does not have`
    case 'posix-cut':
      return platform === 'win32'
        ? 'Windows refuses to cut a file while another view of it is mapped, even beyond the cut (ERROR_USER_MAPPED_FILE): EBUSY, checked by the Windows case'
        : null
    case 'wasm-memories':
      // scripts/test-arm64.mjs sets it for qemu-user before 8.0, which keeps flags for every page a
      // process reserves; V8 reserves 10 GiB for each WebAssembly memory
      return process.env.MMAPFILE_TEST_EMULATOR === undefined
        ? null
        : `makes thousands of WebAssembly memories; under ${process.env.MMAPFILE_TEST_EMULATOR} each costs ~60 MB of the emulator's bookkeeping (100 memories: 6.3 GB resident, measured)`
    case 'fd-reopen':
      return (reopenLacking ??= reopenProbe())
    case 'child-fd-reopen':
      if (platform !== 'linux') return `${REOPEN}, which ${platform} does not have (ENOTSUP there)`
      return childPermission !== undefined &&
        !(childPermission.has('fs.read', '/proc/self/fdinfo/0') && childPermission.has('fs.write', '/proc/self/fd/0'))
        ? `${REOPEN} in a child process, which the permission model it inherits does not allow here (--allow-fs-read, --allow-fs-write)`
        : null
    case 'tmpfs':
      return (mountLacking ??= mountProbe())
    case 'dev-null':
      if (platform === 'win32') return 'opens /dev/null, which Windows does not have'
      return permission !== undefined &&
        !(permission.has('fs.read', '/dev/null') && permission.has('fs.write', '/dev/null'))
        ? "opens /dev/null, which the permission model's --allow-fs-read and --allow-fs-write do not cover here"
        : null
    case 'memfd':
      return (memfdLacking ??= memfdProbe())
    case 'not-root':
      try {
        return process.getuid?.() === 0 ? 'root reads every file, whatever its mode' : null
      } catch (error) {
        // Deno without --allow-sys
        return `cannot tell whether this user is root: ${(error as Error).message.split('\n')[0]}`
      }
  }
}

/**
 * `s` itself where the machine has all of `needs`; else a function with the same call shape that
 * registers the test as a skip and prints the reason.
 */
export function requires(s: Test, ...needs: Need[]): (name: string, fn: () => unknown) => void {
  const reasons = needs.map(lacking).filter((r): r is string => r !== null)
  if (reasons.length === 0) return (name, fn) => s(name, fn as () => void)
  return (name, fn) => skipTest(s, name, fn, reasons.join('; '))
}

/** Registers `name` as a skip and prints why, as requires() does, for a reason a test file found itself. */
export function skipTest(s: Test, name: string, fn: () => unknown, reason: string): void {
  console.log(`# skip: "${name}": ${reason}`)
  s.skip(name, fn as () => void)
}

// The probes behind some needs: each is tried once, when a test first asks.
let reopenLacking: string | null | undefined
let mountLacking: string | null | undefined
let memfdLacking: string | null | undefined

const REOPEN = "opens a descriptor's file again through /proc/self/fd (the WebAssembly backend's open(fd))"

/** Whether this process can read /proc/self/fdinfo/N and open /proc/self/fd/N for writing, as the wasm host does. */
function reopenProbe(): string | null {
  // Wine shows the Unix side's /proc to node.exe: not this process's descriptors
  if (process.platform !== 'linux') return `${REOPEN}, which ${process.platform} does not have (ENOTSUP there)`
  const p = tmpFile('reopen-probe')
  let fd = -1
  try {
    fd = fs.openSync(p, 'w+')
    fs.readFileSync(`/proc/self/fdinfo/${fd}`)
    fs.closeSync(fs.openSync(`/proc/self/fd/${fd}`, 'r+'))
    return null
  } catch (error) {
    return `${REOPEN}, which this process may not: ${(error as Error).message.split('\n')[0]}`
  } finally {
    if (fd >= 0) fs.closeSync(fd)
    fs.rmSync(p, { force: true })
  }
}

/** Whether a small tmpfs can be mounted here (root on Linux). */
function mountProbe(): string | null {
  if (process.platform !== 'linux') return `mounts a small tmpfs, which ${process.platform} does not have`
  if (lacking('not-root') === null) return 'mounts a small tmpfs, which needs root'
  const probe = fs.mkdtempSync(path.join(tmpDir, 'mount-probe-'))
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { encoding: 'utf8' })
  if (mounted.status !== 0)
    return `mounts a small tmpfs, which failed here: ${(mounted.stderr || String(mounted.error)).trim()}`
  spawnSync('umount', [probe])
  return null
}

/** Whether python3 can make a memfd sealed against shrinking or growth (Linux). */
function memfdProbe(): string | null {
  if (process.platform !== 'linux') return `a sealed memfd is Linux's, not ${process.platform}'s`
  const r = spawnSync('python3', ['-c', 'import fcntl, os; os.memfd_create; fcntl.F_SEAL_SHRINK; fcntl.F_SEAL_GROW'], {
    encoding: 'utf8'
  })
  if (r.error !== undefined) return `python3 makes a sealed memfd, and there is none here (${r.error.message})`
  if (r.status !== 0) return `python3 cannot make a sealed memfd here (${r.stderr.trim().split('\n').pop() ?? ''})`
  return null
}

// ---------------------------------------------------------------------------------------------
// /proc probes (Linux).

/** Lines of /proc/self/maps that mention `needle` (a path), or all lines. */
export function mapsLines(needle?: string): string[] {
  const lines = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter(Boolean)
  return needle === undefined ? lines : lines.filter((l) => l.includes(needle))
}

/** Open descriptors of this process whose target starts with `prefix` (or all of them). */
export function fds(prefix?: string): string[] {
  const out: string[] = []
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue
    }
    if (prefix === undefined || target.startsWith(prefix)) out.push(`${fd} -> ${target}`)
  }
  return out
}

export function vmSizeBytes(): number {
  const m = /VmSize:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  return m === null ? NaN : Number(m[1]) * 1024
}

// ---------------------------------------------------------------------------------------------
// Garbage collection. The runners give every runtime a way: node --expose-gc, bun --expose-gc
// (or Bun.gc), deno --v8-flags=--expose-gc.

/** One full, synchronous collection. */
export function collectGarbage(): void {
  const g = globalThis as { gc?: () => void; Bun?: { gc: (force: boolean) => void } }
  if (typeof g.gc === 'function') g.gc()
  else if (g.Bun !== undefined) g.Bun.gc(true)
  else throw new Error('the tests need to collect garbage: run them with --expose-gc')
}

/**
 * Collections with turns of the event loop between them, where finalizers run (later than the
 * collection in JavaScriptCore) and engines free what was swept (V8 on a background thread).
 */
export async function collect(rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    collectGarbage()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * How much VmSize has grown since `before` once garbage is collected: collects until the growth is
 * under `bound`, for at most `rounds` rounds. Memory that is only waiting for the collector comes
 * back; memory that leaked does not.
 */
export async function vmGrowthOnceCollected(before: number, bound: number, rounds = 40): Promise<number> {
  let grown = vmSizeBytes() - before
  for (let i = 0; i < rounds && grown >= bound; i++) {
    await collect(1)
    grown = vmSizeBytes() - before
  }
  return grown
}

// Where /proc cannot be read (Windows; a permission model that does not allow it), the two checks
// below check nothing: they are one assertion among others in the tests that use them. Tests that
// are about what /proc shows require 'proc' instead, and are skipped there.

/** Asserts that nothing under `prefix` is mapped or held open by this process. */
export function assertNothingHeld(what: string, prefix: string): void {
  if (lacking('proc') !== null) return
  assert.equal(mapsLines(prefix), [], `${what}: mappings left in /proc/self/maps`)
  assert.equal(fds(prefix), [], `${what}: descriptors left in /proc/self/fd`)
}

/**
 * Remembers what of the temp dir is mapped and open now; the returned function asserts that
 * nothing was added since (so that a view another failed test left open does not count here).
 */
export function heldSnapshot(prefix: string = tmpDir): (what: string) => void {
  if (lacking('proc') !== null) return () => {}
  const maps = new Set(mapsLines(prefix))
  const open = new Set(fds(prefix))
  return (what) => {
    assert.equal(
      mapsLines(prefix).filter((l) => !maps.has(l)),
      [],
      `${what}: mappings left in /proc/self/maps`
    )
    assert.equal(
      fds(prefix).filter((l) => !open.has(l)),
      [],
      `${what}: descriptors left in /proc/self/fd`
    )
  }
}

// ---------------------------------------------------------------------------------------------
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
