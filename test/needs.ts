// What a test needs of the machine, and the skips where it is lacking. Re-exported by test/helpers.ts,
// which the tests import.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import type { Test } from 'uvu'
import { tmpDir, tmpFile } from './temp-files'

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
