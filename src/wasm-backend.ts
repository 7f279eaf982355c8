// The WebAssembly backend: each mapping is an instance of the mmapfile module (assembly/) whose linear
// memory holds the mapped bytes; the view is a typed array over that memory at a fixed 64 KiB-aligned
// address. The module does all file I/O through WASI preview1, so this file only instantiates it,
// checks windows and turns negative errnos into errors. No Node imports: the WASI host is given in
// (src/wasi-host.ts for Node, src/wasm-shim-host.ts for @bjorn3/browser_wasi_shim).
//
// Memory rules: an instance's memory grows once, when it is mapped; only resize grows it again, and
// growing detaches the old buffer, which is what resize wants. close detaches it with grow(0) (the
// JS API gives the memory a new ArrayBuffer on every grow, and the old one reads as length 0), then
// drops the instance. One instance per mapping: V8 reserves about 10 GiB of address space per memory,
// which allows some 13,000 memories on x86-64 Linux, and pooling several views in one memory would
// make it impossible to detach one view without the others.

import wasmBytes from '../build/mmapfile.wasm'
import type { Backend, Capabilities, Mapping } from './backend.js'
import { ERRNO_EXIST, describeErrno } from './wasm-errno.js'

/**
 * A WASI preview1 host. Called once per module instance with a getter of that instance's memory (read
 * it on every call: it may grow); returns the instance's imports. Instances share the host's fd table:
 * an fd opened by one is used by others. The root directory '/' must be preopened as fd 3.
 */
export type WasiHost = (memory: () => WebAssembly.Memory) => WebAssembly.Imports

export interface WasmBackendOptions {
  /** The WASI host (see WasiHost). */
  wasi: WasiHost
  /** The module, compiled or as bytes (default: the one built into this package). Browsers that refuse
   *  to compile large modules synchronously can pass a `WebAssembly.compile`d one. */
  module?: WebAssembly.Module | BufferSource
  /** What PAGE_SIZE reports: the system's page size (default 4096). */
  pageSize?: number
  /** fsync of a WASI fd that does not block the caller's thread, resolving to a WASI errno. Without it,
   *  syncAsync runs the whole sync on a later turn of the event loop. */
  fdSyncAsync?: (fd: number) => Promise<number>
}

/** Counters for benchmarks and tests, since the backend was created. */
export interface WasmStats {
  /** Bytes read by fd_pread. */
  bytesRead: number
  /** Bytes written back by fd_pwrite. */
  bytesWritten: number
  /** Module instances holding a mapping now. */
  liveInstances: number
}

export interface WasmBackend extends Backend {
  readonly name: 'wasm'
  readonly stats: WasmStats
}

/** What the module exports (assembly/index.ts documents each). */
interface Exports {
  memory: WebAssembly.Memory
  _initialize?(): void
  path_buffer(): number
  open_path(pathLength: number, how: number): number
  unlink_path(pathLength: number): number
  file_size(fd: number): number
  set_file_size(fd: number, size: number): number
  sync_fd(fd: number): number
  close_fd(fd: number): number
  map(fd: number, offset: number, length: number, flags: number): number
  flush(start: number, end: number, durable: number): number
  resize(length: number): number
  take_bytes_written(): number
  take_bytes_read(): number
  last_syscall(): number
  max_window(): number
}

const HOW_READ = 0
const HOW_READ_WRITE = 1
const HOW_CREATE_NEW = 2
const HOW_CREATE_OR_OPEN = 3
const MAP_READ = 1
const MAP_TRACK = 2
const MAP_UNSYNCED = 4
const PATH_BYTES = 4096
const ERRNO_BUSY = 10
const SYSCALLS = ['', 'open', 'read', 'write', 'fsync', 'ftruncate', 'fstat', 'close', 'unlink', 'getrandom', 'mmap']

const EMPTY = new ArrayBuffer(0)
const encoder = new TextEncoder()

/** The Node-style error for a negative errno the module returned. */
function systemError(result: number, exports: Exports): Error {
  return errnoError(-result, SYSCALLS[exports.last_syscall()] ?? 'open')
}

function errnoError(errno: number, syscall: string): Error {
  const [code, description] = describeErrno(errno)
  return Object.assign(new Error(description), { code, syscall })
}

/** One mapping: the front reads buffer, byteOffset and byteLength; the rest is ours. */
class WasmMapping implements Mapping {
  buffer: ArrayBuffer = EMPTY
  byteOffset = 0
  byteLength = 0
  constructor (
    /** 'alloc' for memory with no file. */
    readonly kind: 'r' | 'rw' | 'alloc',
    /** The file's fd in the host, kept by 'rw' mappings only; -1 otherwise. */
    public fd: number,
    /** The window's file offset. */
    readonly offset: number,
    /** The instance holding the bytes; null for an empty mapping, and once closed. */
    public exports: Exports | null
  ) {}
}

/** The WebAssembly backend over the given WASI host. */
export function createWasmBackend(options: WasmBackendOptions): WasmBackend {
  const { wasi } = options
  const module = options.module instanceof WebAssembly.Module
    ? options.module
    : new WebAssembly.Module(options.module ?? wasmBytes)
  const stats: WasmStats = { bytesRead: 0, bytesWritten: 0, liveInstances: 0 }

  function instantiate(): Exports {
    let memory: WebAssembly.Memory | null = null
    const imports = wasi(() => memory as WebAssembly.Memory)
    let exports: Exports
    try {
      exports = new WebAssembly.Instance(module, imports).exports as unknown as Exports
    } catch (error) {
      // V8 throws a RangeError when it cannot reserve another memory (see the top of this file).
      if (!(error instanceof RangeError)) throw error
      throw Object.assign(new Error('not enough memory'), { code: 'ENOMEM', syscall: 'mmap' })
    }
    memory = exports.memory
    exports._initialize?.()
    return exports
  }

  /** The instance that opens, sizes, closes and unlinks files; its memory never grows. */
  const control = instantiate()
  const maxViewBytes = control.max_window()
  const capabilities: Capabilities = Object.freeze({ coherent: false, writeBackGranularity: 65536, maxViewBytes })

  /** Throws the error for a negative result; returns the result otherwise. */
  function check(result: number, exports: Exports): number {
    if (result < 0) throw systemError(result, exports)
    return result
  }

  /** Adds what the instance read and wrote to the stats. */
  function count(exports: Exports): void {
    stats.bytesRead += exports.take_bytes_read()
    stats.bytesWritten += exports.take_bytes_written()
  }

  /** Writes the path into the control instance; its length in bytes. */
  function putPath(path: string): number {
    const buffer = new Uint8Array(control.memory.buffer, control.path_buffer(), PATH_BYTES)
    const { read, written } = encoder.encodeInto(path, buffer)
    if (read < path.length) throw Object.assign(new Error('name too long'), { code: 'ENAMETOOLONG', syscall: 'open' })
    return written
  }

  function openPath(path: string, how: number): number {
    return check(control.open_path(putPath(path), how), control)
  }

  /** Closes fd, for cleanup after another error: a failure here would hide the first one. */
  function closeQuietly(fd: number): void {
    if (fd >= 0) control.close_fd(fd)
  }

  // The fd of an 'rw' mapping dropped without close is closed once the mapping is collected (the
  // front holds it only while a view of it lives). The held value is the fd alone: holding the
  // mapping or its buffer would keep the mapping alive. What was not written back is lost, as the
  // view that held it is. Registered by open and create; close unregisters; resize keeps the mapping.
  const dropped = new FinalizationRegistry<number>(closeQuietly)

  function tooLarge(byteLength: number): RangeError {
    return new RangeError(`the window of ${byteLength} bytes is larger than the largest view (${maxViewBytes} bytes); ` +
      'map a window with options.offset and options.length')
  }

  /** Points the mapping at its instance's window. */
  function attach(mapping: WasmMapping, exports: Exports, address: number, byteLength: number): WasmMapping {
    mapping.exports = exports
    mapping.buffer = exports.memory.buffer
    mapping.byteOffset = address
    mapping.byteLength = byteLength
    return mapping
  }

  /** A new instance mapping `byteLength` bytes of fd at `offset`; on failure nothing is left. */
  function mapInstance(fd: number, offset: number, byteLength: number, flags: number): { exports: Exports, address: number } {
    const exports = instantiate()
    const address = exports.map(fd, offset, byteLength, flags)
    count(exports)
    check(address, exports)
    stats.liveInstances++
    return { exports, address }
  }

  /** Drops the instance: detaches its buffer, so every view of it reads as length 0. */
  function release(mapping: WasmMapping): void {
    const { exports } = mapping
    mapping.exports = null
    mapping.buffer = EMPTY
    mapping.byteOffset = 0
    mapping.byteLength = 0
    if (exports !== null) {
      exports.memory.grow(0)
      stats.liveInstances--
    }
  }

  function asMapping(mapping: Mapping): WasmMapping {
    if (!(mapping instanceof WasmMapping)) throw new TypeError('not a mapping of the wasm backend')
    return mapping
  }

  /** Writes back the changed chunks meeting [start, end) and, if `durable`, makes the file durable. */
  function flush(mapping: WasmMapping, start: number, end: number, durable = true): void {
    if (mapping.kind !== 'rw') return
    const { exports } = mapping
    if (exports === null) {
      if (durable) check(control.sync_fd(mapping.fd), control)
      return
    }
    const result = exports.flush(start, end, durable ? 1 : 0)
    count(exports)
    check(result, exports)
  }

  // The live file mappings, by the absolute path the front passes, with their window ends. Native
  // keeps the same table by inode (native/registry.c), where cutting a file under another mapping
  // would kill the process (SIGBUS); wasm views are copies and cannot crash, but both backends keep
  // one rule: create of a file with another non-empty live mapping, and a resize that would cut the
  // file below another live mapping's window end, fail with EBUSY and change nothing. By path, so
  // another name of the same file (a link) is not seen. Weak, as native's finalizer unmaps a view
  // dropped without close: such a mapping no longer counts once it is collected.
  interface Tracked { path: string, ref: WeakRef<WasmMapping> }
  const mapped = new Map<string, Set<WeakRef<WasmMapping>>>()
  const trackedAs = new WeakMap<WasmMapping, Tracked>()
  const untrackLost = new FinalizationRegistry<Tracked>((tracked) => forget(tracked))

  function track(path: string, mapping: WasmMapping): WasmMapping {
    const tracked = { path, ref: new WeakRef(mapping) }
    let refs = mapped.get(path)
    if (refs === undefined) mapped.set(path, refs = new Set())
    refs.add(tracked.ref)
    trackedAs.set(mapping, tracked)
    untrackLost.register(mapping, tracked, mapping)
    return mapping
  }

  function forget({ path, ref }: Tracked): void {
    const refs = mapped.get(path)
    refs?.delete(ref)
    if (refs?.size === 0) mapped.delete(path)
  }

  function untrack(mapping: WasmMapping): void {
    const tracked = trackedAs.get(mapping)
    if (tracked === undefined) return
    trackedAs.delete(mapping)
    untrackLost.unregister(mapping)
    forget(tracked)
  }

  /** The largest window end among the live mappings of `path` other than `except`; 0 if none. */
  function mappedEnd(path: string, except?: WasmMapping): number {
    let end = 0
    for (const ref of mapped.get(path) ?? []) {
      const other = ref.deref()
      if (other !== undefined && other !== except && other.byteLength > 0) end = Math.max(end, other.offset + other.byteLength)
    }
    return end
  }

  function busy(syscall: string): Error {
    return errnoError(ERRNO_BUSY, syscall)
  }

  const defer: (callback: () => void) => void =
    typeof setImmediate === 'function' ? setImmediate : (callback) => setTimeout(callback, 0)

  const backend: WasmBackend = {
    name: 'wasm',
    capabilities,
    pageSize: options.pageSize ?? 4096,
    stats,

    open(path, mode, offset, length) {
      const fd = openPath(path, mode === 'rw' ? HOW_READ_WRITE : HOW_READ)
      try {
        const size = check(control.file_size(fd), control)
        if (offset > size) throw new RangeError(`offset ${offset} is beyond the end of the file (${size} bytes)`)
        if (length !== null && offset + length > size) {
          throw new RangeError(`window [${offset}, ${offset + length}) is beyond the end of the file (${size} bytes)`)
        }
        const byteLength = length ?? size - offset
        if (byteLength > maxViewBytes) throw tooLarge(byteLength)
        const mapping = new WasmMapping(mode, mode === 'rw' ? fd : -1, offset, null)
        if (byteLength > 0) {
          const { exports, address } = mapInstance(fd, offset, byteLength, mode === 'rw' ? MAP_READ | MAP_TRACK : MAP_READ)
          attach(mapping, exports, address, byteLength)
        }
        // 'r' has everything it will ever read: the file's fd is not needed any more.
        if (mode === 'r') control.close_fd(fd)
        else dropped.register(mapping, fd, mapping)
        return track(path, mapping)
      } catch (error) {
        closeQuietly(fd)
        throw error
      }
    },

    create(path, byteLength) {
      if (byteLength > maxViewBytes) throw tooLarge(byteLength)
      if (mappedEnd(path) > 0) throw busy('open') // emptying the file would cut another live view
      let created = true
      let fd = control.open_path(putPath(path), HOW_CREATE_NEW)
      if (fd === -ERRNO_EXIST) {
        created = false
        fd = control.open_path(putPath(path), HOW_CREATE_OR_OPEN)
      }
      check(fd, control)
      const mapping = new WasmMapping('rw', fd, 0, null)
      try {
        // An existing file keeps its bytes until everything else has worked: it is a regular file
        // and the instance is mapped (zeros, with their fingerprints).
        const size = check(control.file_size(fd), control)
        if (byteLength > 0) {
          const { exports, address } = mapInstance(fd, 0, byteLength, MAP_TRACK | MAP_UNSYNCED)
          attach(mapping, exports, address, byteLength)
        }
        // Grown first, so that a size the file cannot take (EFBIG, ENOSPC) fails while its bytes are
        // all there; then emptied and sized, so that no old byte shows.
        if (size > 0 && byteLength > size) check(control.set_file_size(fd, byteLength), control)
        if (size > 0) check(control.set_file_size(fd, 0), control)
        check(control.set_file_size(fd, byteLength), control)
        dropped.register(mapping, fd, mapping)
        return track(path, mapping)
      } catch (error) {
        release(mapping)
        closeQuietly(fd)
        if (created) control.unlink_path(putPath(path))
        throw error
      }
    },

    alloc(byteLength) {
      if (byteLength > maxViewBytes) throw tooLarge(byteLength)
      const mapping = new WasmMapping('alloc', -1, 0, null)
      if (byteLength === 0) return mapping
      const { exports, address } = mapInstance(-1, 0, byteLength, 0)
      return attach(mapping, exports, address, byteLength)
    },

    close(view) {
      const mapping = asMapping(view)
      if (mapping.kind === 'rw' && mapping.fd >= 0) {
        // If writing back fails, the mapping stays open and whole: the caller may retry or copy it.
        flush(mapping, 0, mapping.byteLength)
        const fd = mapping.fd
        mapping.fd = -1
        dropped.unregister(mapping)
        release(mapping)
        untrack(mapping)
        check(control.close_fd(fd), control)
        return
      }
      release(mapping)
      untrack(mapping)
    },

    sync(view, offset, length) {
      const mapping = asMapping(view)
      if (mapping.fd < 0) return
      flush(mapping, offset, offset + length)
    },

    syncAsync(view, offset, length) {
      const { fdSyncAsync } = options
      if (fdSyncAsync !== undefined) {
        try {
          const mapping = asMapping(view)
          if (mapping.fd < 0 || mapping.kind !== 'rw') return Promise.resolve()
          // The changed chunks go to the file (the page cache) now, at memory speed; only the wait
          // for the disk leaves this thread. Their fingerprints are refreshed, so a write to the view
          // after this call is seen by the next sync.
          flush(mapping, offset, offset + length, false)
          const fd = mapping.fd
          return fdSyncAsync(fd).then((errno) => {
            // A close meanwhile made the file durable itself, and its fd may be gone or reused.
            if (errno !== 0 && mapping.fd === fd) throw errnoError(errno, 'fsync')
          })
        } catch (error) {
          return Promise.reject(error)
        }
      }
      // A synchronous WASI host: the best this backend can do is not to block the caller's turn.
      return new Promise<void>((resolve, reject) => {
        defer(() => {
          try {
            backend.sync(view, offset, length)
            resolve()
          } catch (error) {
            reject(error)
          }
        })
      })
    },

    resize(view, byteLength) {
      const mapping = asMapping(view)
      if (mapping.kind === 'r') throw new TypeError('a read-only mapping cannot be resized')
      if (byteLength > maxViewBytes) throw tooLarge(byteLength)
      // The file is cut at the smaller window end (growth first cuts what was past the window).
      const tracked = trackedAs.get(mapping)
      const keep = mapping.offset + Math.min(byteLength, mapping.byteLength)
      if (tracked !== undefined && mappedEnd(tracked.path, mapping) > keep) throw busy('ftruncate')
      const { exports } = mapping
      if (exports === null) {
        // An empty mapping has no instance yet: make one of length 0, then resize it as any other.
        const fresh = mapInstance(mapping.fd, mapping.offset, 0, mapping.kind === 'rw' ? MAP_TRACK | MAP_UNSYNCED : 0)
        const result = fresh.exports.resize(byteLength)
        count(fresh.exports)
        if (result < 0) {
          stats.liveInstances--
          throw systemError(result, fresh.exports)
        }
        return attach(mapping, fresh.exports, fresh.address, byteLength)
      }
      const old = exports.memory.buffer
      const result = exports.resize(byteLength)
      count(exports)
      // A failure after memory grew (a cut of the file failing right after another worked) leaves
      // the window as it was, in the new buffer: keep the mapping whole for close.
      if (result < 0 && exports.memory.buffer !== old) attach(mapping, exports, mapping.byteOffset, mapping.byteLength)
      check(result, exports)
      // Growing gave the memory a new buffer; if it did not grow, detach the old one here.
      if (exports.memory.buffer === old) exports.memory.grow(0)
      return attach(mapping, exports, mapping.byteOffset, byteLength)
    },

    advise() {
      // Nothing to advise: the bytes are in memory already.
    }
  }
  return backend
}

