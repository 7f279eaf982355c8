// A small WASI preview1 host over node:fs: just the calls the mmapfile module makes, reading and
// writing straight into the module's memory. Why our own: node:wasi aborts on Node 20/22 when memory
// grows during I/O, and @wasmer/wasi's fd_pwrite inserts bytes instead of overwriting them.
//
// Scheme: the root directory '/' is preopened as ROOT_FD and the module opens absolute paths relative
// to it. One host serves every instance of the module (its fd table is shared), so an fd opened by one
// instance can be used by another; each instance gets its own import object, bound to its memory.
// Every call returns a WASI errno and never throws.

import { randomFillSync } from 'node:crypto'
import {
  closeSync,
  constants,
  fsync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync
} from 'node:fs'
import { resolve } from 'node:path'
import { ERRNO_BADF, ERRNO_INVAL, ERRNO_IO, ERRNO_NOTSUP, ERRNO_SUCCESS, errnoOf } from './errno.js'
import { ROOT_FD } from './module.js'
import type { WasiHost } from './module.js'
import { adoptDescriptor } from './node-descriptor.js'
import { dsyncWrites, errnoFrom, exactStat, fileType, isRefusal, nanoseconds, setU64, underAFile } from './node-fs.js'

/** Bytes per readSync/writeSync: Node refuses more than 2 GiB - 1 in one call. */
const IO_MAX = 1 << 30

// The flags of path_open that the module sends (assembly/index.ts, open_path); others are refused, ENOTSUP.
const RIGHT_FD_WRITE = 64n
const LOOKUP_SYMLINK_FOLLOW = 1
const OFLAGS_CREAT = 1
const OFLAGS_EXCL = 4
const FDFLAGS_NONBLOCK = 4

const decoder = new TextDecoder()

/** Options of createNodeWasiHost. */
export interface NodeWasiHostOptions {
  /** The directory preopened as ROOT_FD, that the module's absolute paths are relative to (default '/'). */
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
  const table = new FdTable(resolve(options.root ?? '/'))
  const host: WasiHost = (memory) => ({ wasi_snapshot_preview1: new WasiCalls(table, memory).imports() })
  return Object.assign(host, {
    fdSyncAsync: (fd: number) => table.syncAsync(fd),
    adoptFd: (fd: number, write: boolean) => table.add(adoptDescriptor(fd, write), false)
  })
}

/** The host's descriptors, shared by every instance: WASI fd -> Node fd, and what each needs to be durable. */
class FdTable {
  readonly #files = new Map<number, number>()
  /** fds opened with O_DSYNC (under Node's permission model). */
  readonly #dsyncFds = new Set<number>()
  /** fds whose file changed size since their last fd_sync. */
  readonly #resized = new Set<number>()
  readonly #freed: number[] = []
  #nextFd = ROOT_FD + 1
  /** O_DSYNC where fsync will be refused (see dsyncWrites), else 0. */
  readonly dsync = dsyncWrites()

  constructor(readonly root: string) {}

  node(fd: number): number | undefined {
    return this.#files.get(fd)
  }

  has(fd: number): boolean {
    return this.#files.has(fd)
  }

  /** A WASI fd for Node's `node`; `resized` if its size, too, is to be made durable (a new or emptied file). */
  add(node: number, resized: boolean, dsync = false): number {
    const fd = this.#freed.pop() ?? this.#nextFd++
    this.#files.set(fd, node)
    if (dsync) this.#dsyncFds.add(fd)
    if (resized) this.#resized.add(fd)
    return fd
  }

  /** Forgets `fd`; returns the Node fd to close. */
  remove(fd: number): number | undefined {
    const node = this.#files.get(fd)
    if (node === undefined) return undefined
    this.#files.delete(fd)
    this.#resized.delete(fd)
    this.#dsyncFds.delete(fd)
    this.#freed.push(fd)
    return node
  }

  resized(fd: number): void {
    this.#resized.add(fd)
  }

  synced(fd: number): void {
    this.#resized.delete(fd)
  }

  /**
   * fd_sync where fsync was refused (ERR_ACCESS_DENIED): every write through an O_DSYNC descriptor
   * was durable when it returned, so what is left is a size changed by fd_filestat_set_size alone
   * (a create of zeros, a resize). Writing the last byte again through the descriptor makes the
   * size durable with it (an O_DSYNC write waits for the metadata needed to read it back). An empty
   * file has no byte to write: its size is durable once the next write is. A descriptor without
   * O_DSYNC gets the refusal itself.
   */
  durableWithoutFsync(fd: number, node: number, refusal: unknown): number {
    if (!this.#dsyncFds.has(fd)) return errnoFrom(refusal)
    if (!this.#resized.has(fd)) return ERRNO_SUCCESS
    try {
      const size = fstatSync(node).size
      if (size > 0) {
        const last = new Uint8Array(1)
        if (readSync(node, last, 0, 1, size - 1) === 1) writeSync(node, last, 0, 1, size - 1)
      }
      this.#resized.delete(fd)
      return ERRNO_SUCCESS
    } catch (error) {
      return errnoFrom(error)
    }
  }

  /** fsync of `fd` on the libuv thread pool; resolves to a WASI errno, never rejects. */
  syncAsync(fd: number): Promise<number> {
    return new Promise((resolvePromise) => {
      const node = this.node(fd)
      if (node === undefined) return resolvePromise(ERRNO_BADF)
      const failed = (error: unknown): number =>
        isRefusal(error) ? this.durableWithoutFsync(fd, node, error) : errnoFrom(error)
      try {
        fsync(node, (error) => resolvePromise(error === null ? ERRNO_SUCCESS : failed(error)))
      } catch (error) {
        // Node's permission model refuses fsync by throwing, before any callback
        resolvePromise(failed(error))
      }
    })
  }
}

/** The WASI calls of one module instance: the shared fd table, read and written through its memory. */
class WasiCalls {
  // One DataView for as long as the memory keeps its buffer (it gets a new one when it grows).
  #viewed: DataView | null = null

  constructor(
    readonly table: FdTable,
    readonly memory: () => WebAssembly.Memory
  ) {}

  /** The import object: each call bound to this instance. */
  imports(): WebAssembly.ModuleImports {
    const names = [
      'path_open',
      'path_unlink_file',
      'fd_pread',
      'fd_pwrite',
      'fd_sync',
      'fd_filestat_get',
      'fd_filestat_set_size',
      'fd_close',
      'random_get'
    ] as const
    return Object.fromEntries(names.map((name) => [name, this[name].bind(this)]))
  }

  // memory().buffer again on every call: the memory may have grown since.
  #bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.memory().buffer, ptr, len)
  }

  #view(): DataView {
    const buffer = this.memory().buffer
    if (this.#viewed === null || this.#viewed.buffer !== buffer) this.#viewed = new DataView(buffer)
    return this.#viewed
  }

  // The module passes paths relative to the root preopen; under '/' that is the absolute path already
  // made absolute and normal by the front (src/front/paths.ts), save the leading slash.
  #pathAt(dirfd: number, ptr: number, len: number): string | null {
    if (dirfd !== ROOT_FD) return null
    const root = this.table.root
    return root === '/'
      ? `/${decoder.decode(this.#bytes(ptr, len))}`
      : resolve(root, decoder.decode(this.#bytes(ptr, len)))
  }

  /** Runs readSync or writeSync over the I/O vectors at `iovs` from `position`; the count goes to `resultPtr`. */
  #transfer(
    fd: number,
    iovs: number,
    iovsLen: number,
    position: bigint,
    resultPtr: number,
    io: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number
  ): number {
    const node = this.table.node(fd)
    if (node === undefined) return ERRNO_BADF
    let at = Number(position)
    let total = 0
    try {
      for (let i = 0; i < iovsLen; i++) {
        const ptr = this.#view().getUint32(iovs + 8 * i, true)
        const len = this.#view().getUint32(iovs + 8 * i + 4, true)
        let done = 0
        while (done < len) {
          const ask = Math.min(len - done, IO_MAX)
          const n = io(node, this.#bytes(ptr + done, ask), 0, ask, at)
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
    this.#view().setUint32(resultPtr, total, true)
    return ERRNO_SUCCESS
  }

  path_open(
    dirfd: number,
    dirflags: number,
    pathPtr: number,
    pathLen: number,
    oflags: number,
    rightsBase: bigint,
    _rightsInheriting: bigint,
    fdflags: number,
    fdPtr: number
  ): number {
    const path = this.#pathAt(dirfd, pathPtr, pathLen)
    if (path === null) return this.table.has(dirfd) ? ERRNO_NOTSUP : ERRNO_BADF
    if (
      dirflags !== LOOKUP_SYMLINK_FOLLOW ||
      (oflags & ~(OFLAGS_CREAT | OFLAGS_EXCL)) !== 0 ||
      (fdflags & ~FDFLAGS_NONBLOCK) !== 0
    ) {
      return ERRNO_NOTSUP
    }
    const writable = (BigInt(rightsBase) & RIGHT_FD_WRITE) !== 0n
    let flags = writable ? constants.O_RDWR | this.table.dsync : constants.O_RDONLY
    if (oflags & OFLAGS_CREAT) flags |= constants.O_CREAT
    if (oflags & OFLAGS_EXCL) flags |= constants.O_EXCL
    if (fdflags & FDFLAGS_NONBLOCK) flags |= constants.O_NONBLOCK
    try {
      const node = openSync(path, flags, 0o666)
      // a new file: its size, too, is to be made durable
      const fd = this.table.add(node, writable && (oflags & OFLAGS_CREAT) !== 0, writable && this.table.dsync !== 0)
      this.#view().setUint32(fdPtr, fd, true)
      return ERRNO_SUCCESS
    } catch (error) {
      if (process.platform === 'win32' && (error as { code?: unknown }).code === 'ENOENT' && underAFile(path)) {
        return errnoOf('ENOTDIR')
      }
      return errnoFrom(error)
    }
  }

  path_unlink_file(dirfd: number, pathPtr: number, pathLen: number): number {
    const path = this.#pathAt(dirfd, pathPtr, pathLen)
    if (path === null) return this.table.has(dirfd) ? ERRNO_NOTSUP : ERRNO_BADF
    try {
      unlinkSync(path)
      return ERRNO_SUCCESS
    } catch (error) {
      return errnoFrom(error)
    }
  }

  fd_pread(fd: number, iovs: number, iovsLen: number, offset: bigint, nreadPtr: number): number {
    return this.#transfer(fd, iovs, iovsLen, offset, nreadPtr, readSync)
  }

  fd_pwrite(fd: number, iovs: number, iovsLen: number, offset: bigint, nwrittenPtr: number): number {
    return this.#transfer(fd, iovs, iovsLen, offset, nwrittenPtr, writeSync)
  }

  fd_sync(fd: number): number {
    const node = this.table.node(fd)
    if (node === undefined) return ERRNO_BADF
    try {
      fsyncSync(node)
      this.table.synced(fd)
      return ERRNO_SUCCESS
    } catch (error) {
      return isRefusal(error) ? this.table.durableWithoutFsync(fd, node, error) : errnoFrom(error)
    }
  }

  fd_filestat_get(fd: number, statPtr: number): number {
    try {
      const node = this.table.node(fd)
      const root = this.table.root
      const stats =
        node !== undefined
          ? exactStat(
              () => fstatSync(node),
              () => fstatSync(node, { bigint: true })
            )
          : fd === ROOT_FD
            ? exactStat(
                () => statSync(root),
                () => statSync(root, { bigint: true })
              )
            : null
      if (stats === null) return ERRNO_BADF
      const out = this.#view()
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
  }

  fd_filestat_set_size(fd: number, size: bigint): number {
    const node = this.table.node(fd)
    if (node === undefined) return ERRNO_BADF
    const length = Number(BigInt.asUintN(64, BigInt(size)))
    if (!Number.isSafeInteger(length)) return ERRNO_INVAL
    try {
      ftruncateSync(node, length)
      this.table.resized(fd)
      return ERRNO_SUCCESS
    } catch (error) {
      return errnoFrom(error)
    }
  }

  fd_close(fd: number): number {
    const node = this.table.remove(fd)
    if (node === undefined) return ERRNO_BADF
    try {
      closeSync(node)
      return ERRNO_SUCCESS
    } catch (error) {
      return errnoFrom(error)
    }
  }

  random_get(ptr: number, len: number): number {
    try {
      randomFillSync(this.#bytes(ptr, len))
      return ERRNO_SUCCESS
    } catch {
      return ERRNO_IO
    }
  }
}
