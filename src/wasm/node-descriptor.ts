// A descriptor of the runtime's own (open(fd), a FileHandle) as a file the Node WASI host can map:
// its access checked as mmap(2) would, then opened anew through /proc/self/fd (Linux only).

import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import type { Stats } from 'node:fs'
import { describeErrno, errnoOf } from './errno.js'
import { exactStat } from './node-fs.js'

const O_ACCMODE = 3
const O_PATH = 0o10000000 // Linux

/** A bare system error, as the backend throws them: the front adds the function and what it names. */
function systemError(code: string, syscall: string, description: string): Error {
  return Object.assign(new Error(description), { code, syscall })
}

/** What node:fs threw, as a bare system error; the runtime's own errors (ERR_ACCESS_DENIED) as they are. */
function bare(error: unknown, syscall: string): unknown {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return error
  const [known, description] = describeErrno(errnoOf(code))
  return systemError(code, syscall, known === code ? description : code)
}

/**
 * The status flags of the runtime's descriptor `fd` (open(2)'s flags), from /proc/self/fdinfo; null where
 * there is none. A runtime that forbids reading it (Node's permission model, Deno) says so with its error.
 */
function descriptorFlags(fd: number): number | null {
  // Only Linux's /proc describes this process: Wine shows node.exe the Unix side's, whose descriptors
  // are not the ones node.exe's numbers name (open(fd) under Wine failed with EACCES or EBADF).
  if (process.platform !== 'linux') return null
  let text: string
  try {
    text = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (code === 'ENOENT' || code === 'ENOTDIR') return null
    throw bare(error, 'open')
  }
  const flags = /^flags:\s*([0-7]+)$/m.exec(text)
  return flags === null ? null : parseInt(flags[1], 8)
}

/**
 * A Node descriptor of our own for the file that the runtime's descriptor `fd` is open on, opened anew
 * through /proc/self/fd (Linux), so that the caller may close `fd` and a later file with its number
 * never receives our writes. Opening a path checks the file's permissions, not the descriptor's, so
 * the descriptor's own access mode (/proc/self/fdinfo) must allow the mapping: read for 'r', read and
 * write without O_APPEND for 'rw', as mmap(2) would answer (EACCES). The new descriptor must be the
 * same file (device and inode), or this runtime's descriptors are not the system's (EBADF).
 * Elsewhere (no /proc): ENOTSUP. Throws bare system errors; leaves no descriptor behind.
 */
export function adoptDescriptor(fd: number, write: boolean): number {
  let stats: Stats
  try {
    stats = fstatSync(fd)
  } catch (error) {
    throw bare(error, 'fstat')
  }
  const flags = descriptorFlags(fd)
  if (flags === null) {
    throw systemError(
      'ENOTSUP',
      'open',
      'the WebAssembly backend maps a descriptor through /proc/self/fd (Linux); map the file by its path'
    )
  }
  // In native's order (native/posix.c, mf_open_fd): the access first, then what the file is.
  const access = flags & O_ACCMODE
  if ((flags & O_PATH) !== 0) throw systemError('EBADF', 'mmap', 'bad file descriptor')
  if (access === constants.O_WRONLY || (write && (access !== constants.O_RDWR || (flags & constants.O_APPEND) !== 0))) {
    throw systemError('EACCES', 'mmap', 'permission denied')
  }
  if (stats.isDirectory()) throw systemError('EISDIR', 'open', 'illegal operation on a directory')
  if (!stats.isFile()) throw systemError('ENODEV', 'mmap', 'no such device')
  let node: number
  try {
    node = openSync(`/proc/self/fd/${fd}`, (write ? constants.O_RDWR : constants.O_RDONLY) | constants.O_NONBLOCK)
  } catch (error) {
    throw bare(error, 'open')
  }
  try {
    const again = exactStat(
      () => fstatSync(node),
      () => fstatSync(node, { bigint: true })
    )
    const before = exactStat(
      () => stats,
      () => fstatSync(fd, { bigint: true })
    )
    if (BigInt(again.dev) !== BigInt(before.dev) || BigInt(again.ino) !== BigInt(before.ino)) {
      throw systemError('EBADF', 'open', 'bad file descriptor')
    }
  } catch (error) {
    closeSync(node)
    throw bare(error, 'fstat')
  }
  return node
}
