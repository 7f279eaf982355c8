// A small WASI preview1 host over node:fs: just the calls the mmapfile module makes, reading and
// writing straight into the module's memory. Why our own: node:wasi aborts on Node 20/22 when memory
// grows during I/O, and @wasmer/wasi's fd_pwrite inserts bytes instead of overwriting them.
//
// Scheme: the root directory '/' is preopened as fd 3 and the module opens absolute paths relative to
// it. One host serves every instance of the module (its fd table is shared), so an fd opened by one
// instance can be used by another; each instance gets its own import object, bound to its memory.
// Every call returns a WASI errno and never throws.

import { randomFillSync } from 'node:crypto'
import { constants as osConstants } from 'node:os'
import {
  closeSync, constants, fsync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, statSync,
  unlinkSync, writeSync
} from 'node:fs'
import type { BigIntStats, Stats } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ERRNO_BADF, ERRNO_INVAL, ERRNO_IO, ERRNO_NOTSUP, ERRNO_SUCCESS, describeErrno, errnoOf } from './errno.js'
import type { WasiHost } from './backend.js'

const ROOT_FD = 3
const FIRST_FD = 4
/** Bytes per readSync/writeSync: Node refuses more than 2 GiB - 1 in one call. */
const IO_MAX = 1 << 30

const RIGHT_FD_WRITE = 64n
const LOOKUP_SYMLINK_FOLLOW = 1
const OFLAGS_CREAT = 1
const OFLAGS_DIRECTORY = 2
const OFLAGS_EXCL = 4
const OFLAGS_TRUNC = 8
const FDFLAGS_APPEND = 1
const FDFLAGS_DSYNC = 2
const FDFLAGS_NONBLOCK = 4
const FDFLAGS_SYNC = 16

const FILETYPE_UNKNOWN = 0
const FILETYPE_BLOCK_DEVICE = 1
const FILETYPE_CHARACTER_DEVICE = 2
const FILETYPE_DIRECTORY = 3
const FILETYPE_REGULAR_FILE = 4
const FILETYPE_SOCKET_STREAM = 6
const FILETYPE_SYMBOLIC_LINK = 7

const decoder = new TextDecoder()

function fileType(stats: { isFile(): boolean, isDirectory(): boolean, isBlockDevice(): boolean,
  isCharacterDevice(): boolean, isSocket(): boolean, isSymbolicLink(): boolean }): number {
  if (stats.isFile()) return FILETYPE_REGULAR_FILE
  if (stats.isDirectory()) return FILETYPE_DIRECTORY
  if (stats.isBlockDevice()) return FILETYPE_BLOCK_DEVICE
  if (stats.isCharacterDevice()) return FILETYPE_CHARACTER_DEVICE
  if (stats.isSocket()) return FILETYPE_SOCKET_STREAM
  if (stats.isSymbolicLink()) return FILETYPE_SYMBOLIC_LINK
  return FILETYPE_UNKNOWN
}

type AnyStats = Stats | BigIntStats

/**
 * stat as numbers, which is what a small open can afford (bigint stats build a Date per time, eagerly,
 * on Node 20), unless a number it gives may be rounded: then again as bigints. An inode number past
 * 2^53 shows as one past 2^53 once rounded, so the check cannot miss it; the file's identity (device,
 * inode) must be exact, or two files could pass for one.
 */
function exactStat(asNumbers: () => Stats, asBigInts: () => BigIntStats): AnyStats {
  const stats = asNumbers()
  const exact = stats.ino <= Number.MAX_SAFE_INTEGER && stats.dev <= Number.MAX_SAFE_INTEGER && stats.size <= Number.MAX_SAFE_INTEGER
  return exact ? stats : asBigInts()
}

/** A stat time in nanoseconds: exact from bigint stats, else from milliseconds (to a few hundred ns). */
function nanoseconds(stats: AnyStats, which: 'atime' | 'mtime' | 'ctime'): bigint | number {
  return 'atimeNs' in stats ? stats[`${which}Ns`] : Math.max(0, Math.round(stats[`${which}Ms`] * 1e6))
}

/**
 * Stores a u64: a bigint as it is (modulo 2^64), a number (a safe integer, or a time in ns that may be
 * rounded) as two u32 halves, which makes no BigInt: a small open stats its file, and the BigInts
 * were most of that.
 */
function setU64(out: DataView, at: number, value: bigint | number): void {
  if (typeof value === 'bigint') {
    out.setBigUint64(at, BigInt.asUintN(64, value), true)
    return
  }
  const high = Math.floor(value / 4294967296)
  out.setUint32(at, value - high * 4294967296, true)
  out.setUint32(at + 4, high >>> 0, true)
}

/** The errno for whatever a node:fs call threw. */
function errnoFrom(error: unknown): number {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (typeof code === 'string') return errnoOf(code)
  // Deno's node:fs throws some errors with no code, only a message like 'File too large (os error 27)'.
  const osError = /\(os error (\d+)\)/.exec(String(message))
  return errnoOf(osError === null ? undefined : ERRNO_NAMES.get(Number(osError[1])))
}

/** errno number -> name ('EFBIG'), from this system's own table. */
const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, errno]) => [errno, name]))

/**
 * Node's permission model (Node 20 to 24; `process.permission` exists only under it) refuses
 * fsync and fdatasync outright, with ERR_ACCESS_DENIED, whatever the paths allowed. Writes through
 * a descriptor opened with O_DSYNC are allowed, and each returns once its bytes, and the file size
 * they need, are on the disk. So under the model this host opens every file it may write with
 * O_DSYNC (where the platform has it), and an fd_sync that fsync refuses has only a change of size
 * left to make durable: see durableWithoutFsync.
 */
const dsyncWrites = (): number =>
  typeof process === 'object' && (process as { permission?: unknown }).permission !== undefined ? constants.O_DSYNC ?? 0 : 0

/** Whether a path that was not found runs through a file ('file.bin/child'): Windows says ENOENT, POSIX ENOTDIR. */
function underAFile(path: string): boolean {
  for (let parent = dirname(path); parent !== dirname(parent); parent = dirname(parent)) {
    try {
      return !statSync(parent).isDirectory()
    } catch {
      // missing too: look further up
    }
  }
  return false
}

/** Options of createNodeWasiHost. */
export interface NodeWasiHostOptions {
  /** The directory preopened as fd 3, that the module's absolute paths are relative to (default '/'). */
  root?: string
}

/** Our Node host: a WasiHost plus an fsync that waits on the libuv thread pool, not on the caller's thread. */
export type NodeWasiHost = WasiHost & {
  /** fsync of a WASI fd off the main thread; resolves to a WASI errno, never rejects. */
  fdSyncAsync(fd: number): Promise<number>
  /** A WASI fd of the host's own for the file the runtime's descriptor `fd` is open on (see adoptDescriptor). */
  adoptFd(fd: number, write: boolean): number
}

/** A WASI host over node:fs for the mmapfile module (see the top of this file). */
export function createNodeWasiHost(options: NodeWasiHostOptions = {}): NodeWasiHost {
  const root = resolve(options.root ?? '/')
  /** WASI fd -> Node fd; fds below FIRST_FD are never handed out. */
  const files = new Map<number, number>()
  /** WASI fds opened with O_DSYNC (under Node's permission model), and those whose file changed size since the last fd_sync. */
  const dsyncFds = new Set<number>()
  const resized = new Set<number>()
  const dsync = dsyncWrites()
  const freed: number[] = []
  let nextFd = FIRST_FD

  function nodeFd(fd: number): number | undefined {
    return files.get(fd)
  }

  /**
   * fd_sync where fsync was refused (ERR_ACCESS_DENIED): every write through an O_DSYNC descriptor
   * was durable when it returned, so what is left is a size changed by fd_filestat_set_size alone
   * (a create of zeros, a resize). Writing the last byte again through the descriptor makes the
   * size durable with it (an O_DSYNC write waits for the metadata needed to read it back). An empty
   * file has no byte to write: its size is durable once the next write is. A descriptor without
   * O_DSYNC gets the refusal itself.
   */
  function durableWithoutFsync(fd: number, node: number, refusal: unknown): number {
    if (!dsyncFds.has(fd)) return errnoFrom(refusal)
    if (!resized.has(fd)) return ERRNO_SUCCESS
    try {
      const size = fstatSync(node).size
      if (size > 0) {
        const last = new Uint8Array(1)
        if (readSync(node, last, 0, 1, size - 1) === 1) writeSync(node, last, 0, 1, size - 1)
      }
      resized.delete(fd)
      return ERRNO_SUCCESS
    } catch (error) {
      return errnoFrom(error)
    }
  }
  function isRefusal(error: unknown): boolean {
    return (error as { code?: unknown } | null)?.code === 'ERR_ACCESS_DENIED'
  }

  const fdSyncAsync = (fd: number): Promise<number> => new Promise((resolvePromise) => {
    const node = nodeFd(fd)
    if (node === undefined) return resolvePromise(ERRNO_BADF)
    try {
      fsync(node, (error) => {
        if (error === null) return resolvePromise(ERRNO_SUCCESS)
        resolvePromise(isRefusal(error) ? durableWithoutFsync(fd, node, error) : errnoFrom(error))
      })
    } catch (error) {
      // Node's permission model refuses fsync by throwing, before any callback
      resolvePromise(isRefusal(error) ? durableWithoutFsync(fd, node, error) : errnoFrom(error))
    }
  })

  const host: WasiHost = (memory) => {
    const bytes = (ptr: number, len: number): Uint8Array => new Uint8Array(memory().buffer, ptr, len)
    // One DataView for as long as the memory keeps its buffer (it gets a new one when it grows).
    let viewed: DataView | null = null
    const view = (): DataView => {
      const buffer = memory().buffer
      if (viewed === null || viewed.buffer !== buffer) viewed = new DataView(buffer)
      return viewed
    }
    // The module passes paths relative to the root preopen; under '/' that is the absolute path already
    // made absolute and normal by the front (src/front/paths.ts), save the leading slash.
    const pathAt = (dirfd: number, ptr: number, len: number): string | null =>
      dirfd !== ROOT_FD ? null : root === '/' ? `/${decoder.decode(bytes(ptr, len))}` : resolve(root, decoder.decode(bytes(ptr, len)))

    /** Runs readSync or writeSync over the I/O vectors at `iovs` from `position`; the count goes to `resultPtr`. */
    function transfer(fd: number, iovs: number, iovsLen: number, position: bigint, resultPtr: number,
      io: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number): number {
      const node = nodeFd(fd)
      if (node === undefined) return ERRNO_BADF
      let at = Number(position)
      let total = 0
      try {
        for (let i = 0; i < iovsLen; i++) {
          const ptr = view().getUint32(iovs + 8 * i, true)
          const len = view().getUint32(iovs + 8 * i + 4, true)
          let done = 0
          while (done < len) {
            const ask = Math.min(len - done, IO_MAX)
            // memory().buffer again on every call: the memory may have grown since.
            const n = io(node, bytes(ptr + done, ask), 0, ask, at)
            if (n === 0) break
            done += n
            at += n
          }
          total += done
          if (done < len) break
        }
      } catch (error) {
        if (total === 0) return errnoFrom(error)
      }
      view().setUint32(resultPtr, total, true)
      return ERRNO_SUCCESS
    }

    const wasi = {
      path_open(dirfd: number, dirflags: number, pathPtr: number, pathLen: number, oflags: number,
        rightsBase: bigint, _rightsInheriting: bigint, fdflags: number, fdPtr: number): number {
        const path = pathAt(dirfd, pathPtr, pathLen)
        if (path === null) return files.has(dirfd) ? ERRNO_NOTSUP : ERRNO_BADF
        let flags = (BigInt(rightsBase) & RIGHT_FD_WRITE) !== 0n ? constants.O_RDWR : constants.O_RDONLY
        if (oflags & OFLAGS_CREAT) flags |= constants.O_CREAT
        if (oflags & OFLAGS_EXCL) flags |= constants.O_EXCL
        if (oflags & OFLAGS_TRUNC) flags |= constants.O_TRUNC
        if (oflags & OFLAGS_DIRECTORY) flags |= constants.O_DIRECTORY
        if (!(dirflags & LOOKUP_SYMLINK_FOLLOW)) flags |= constants.O_NOFOLLOW
        if (fdflags & FDFLAGS_APPEND) flags |= constants.O_APPEND
        if (fdflags & FDFLAGS_DSYNC) flags |= constants.O_DSYNC
        if (fdflags & FDFLAGS_NONBLOCK) flags |= constants.O_NONBLOCK
        if (fdflags & FDFLAGS_SYNC) flags |= constants.O_SYNC
        const writable = (flags & constants.O_RDWR) !== 0
        if (writable) flags |= dsync
        try {
          const node = openSync(path, flags, 0o666)
          const fd = freed.pop() ?? nextFd++
          files.set(fd, node)
          if (writable && dsync !== 0) dsyncFds.add(fd)
          // a new or emptied file: its size, too, is to be made durable
          if (writable && (oflags & (OFLAGS_CREAT | OFLAGS_TRUNC)) !== 0) resized.add(fd)
          view().setUint32(fdPtr, fd, true)
          return ERRNO_SUCCESS
        } catch (error) {
          if (process.platform === 'win32' && (error as { code?: unknown }).code === 'ENOENT' && underAFile(path)) {
            return errnoOf('ENOTDIR')
          }
          return errnoFrom(error)
        }
      },

      path_unlink_file(dirfd: number, pathPtr: number, pathLen: number): number {
        const path = pathAt(dirfd, pathPtr, pathLen)
        if (path === null) return files.has(dirfd) ? ERRNO_NOTSUP : ERRNO_BADF
        try {
          unlinkSync(path)
          return ERRNO_SUCCESS
        } catch (error) {
          return errnoFrom(error)
        }
      },

      fd_pread(fd: number, iovs: number, iovsLen: number, offset: bigint, nreadPtr: number): number {
        return transfer(fd, iovs, iovsLen, offset, nreadPtr, readSync)
      },

      fd_pwrite(fd: number, iovs: number, iovsLen: number, offset: bigint, nwrittenPtr: number): number {
        return transfer(fd, iovs, iovsLen, offset, nwrittenPtr, writeSync)
      },

      fd_sync(fd: number): number {
        const node = nodeFd(fd)
        if (node === undefined) return ERRNO_BADF
        try {
          fsyncSync(node)
          resized.delete(fd)
          return ERRNO_SUCCESS
        } catch (error) {
          return isRefusal(error) ? durableWithoutFsync(fd, node, error) : errnoFrom(error)
        }
      },

      fd_filestat_get(fd: number, statPtr: number): number {
        try {
          const node = nodeFd(fd)
          const stats = node !== undefined ? exactStat(() => fstatSync(node), () => fstatSync(node, { bigint: true }))
            : fd === ROOT_FD ? exactStat(() => statSync(root), () => statSync(root, { bigint: true })) : null
          if (stats === null) return ERRNO_BADF
          const out = view()
          setU64(out, statPtr, stats.dev)
          setU64(out, statPtr + 8, stats.ino)
          out.setUint8(statPtr + 16, fileType(stats))
          setU64(out, statPtr + 24, stats.nlink)
          setU64(out, statPtr + 32, stats.size)
          setU64(out, statPtr + 40, nanoseconds(stats, 'atime'))
          setU64(out, statPtr + 48, nanoseconds(stats, 'mtime'))
          setU64(out, statPtr + 56, nanoseconds(stats, 'ctime'))
          return ERRNO_SUCCESS
        } catch (error) {
          return errnoFrom(error)
        }
      },

      fd_filestat_set_size(fd: number, size: bigint): number {
        const node = nodeFd(fd)
        if (node === undefined) return ERRNO_BADF
        const length = Number(BigInt.asUintN(64, BigInt(size)))
        if (!Number.isSafeInteger(length)) return ERRNO_INVAL
        try {
          ftruncateSync(node, length)
          resized.add(fd)
          return ERRNO_SUCCESS
        } catch (error) {
          return errnoFrom(error)
        }
      },

      fd_close(fd: number): number {
        const node = nodeFd(fd)
        if (node === undefined) return ERRNO_BADF
        files.delete(fd)
        resized.delete(fd)
        dsyncFds.delete(fd)
        freed.push(fd)
        try {
          closeSync(node)
          return ERRNO_SUCCESS
        } catch (error) {
          return errnoFrom(error)
        }
      },

      random_get(ptr: number, len: number): number {
        try {
          randomFillSync(bytes(ptr, len))
          return ERRNO_SUCCESS
        } catch {
          return ERRNO_IO
        }
      }
    }
    return { wasi_snapshot_preview1: wasi }
  }
  const adoptFd = (fd: number, write: boolean): number => {
    const node = adoptDescriptor(fd, write)
    const wasiFd = freed.pop() ?? nextFd++
    files.set(wasiFd, node)
    return wasiFd
  }

  return Object.assign(host, { fdSyncAsync, adoptFd })
}

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
function adoptDescriptor(fd: number, write: boolean): number {
  let stats: Stats
  try {
    stats = fstatSync(fd)
  } catch (error) {
    throw bare(error, 'fstat')
  }
  const flags = descriptorFlags(fd)
  if (flags === null) {
    throw systemError('ENOTSUP', 'open', 'the WebAssembly backend maps a descriptor through /proc/self/fd (Linux); map the file by its path')
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
    const again = exactStat(() => fstatSync(node), () => fstatSync(node, { bigint: true }))
    const before = exactStat(() => stats, () => fstatSync(fd, { bigint: true }))
    if (BigInt(again.dev) !== BigInt(before.dev) || BigInt(again.ino) !== BigInt(before.ino)) {
      throw systemError('EBADF', 'open', 'bad file descriptor')
    }
  } catch (error) {
    closeSync(node)
    throw bare(error, 'fstat')
  }
  return node
}

/** The system's page size: AT_PAGESZ from /proc/self/auxv on Linux, 16 KiB on Apple silicon, else 4 KiB. */
export function systemPageSize(): number {
  if (process.platform === 'linux') {
    try {
      const auxv = readFileSync('/proc/self/auxv')
      const AT_PAGESZ = 6n
      for (let i = 0; i + 16 <= auxv.length; i += 16) {
        if (auxv.readBigUInt64LE(i) === AT_PAGESZ) return Number(auxv.readBigUInt64LE(i + 8))
      }
    } catch {
      // no /proc: fall through
    }
  }
  return process.platform === 'darwin' && process.arch === 'arm64' ? 16384 : 4096
}
