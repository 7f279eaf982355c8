// The WebAssembly backend: each mapping is an instance of the mmapfile module (assembly/) whose linear
// memory holds the mapped bytes; the view is a typed array over that memory at a fixed 64 KiB-aligned
// address. The module does all file I/O through WASI preview1, so this file only instantiates it,
// checks windows, keeps what the module must be able to trust, carries write-backs over between views
// of one file, and turns negative errnos into errors. No Node imports: the WASI host is given in
// (src/wasm/node-host.ts for Node, src/wasm/shim-host.ts for @bjorn3/browser_wasi_shim).
//
// Memory rules: an instance's memory grows once, when it is mapped; only resize grows it again, and
// growing detaches the old buffer, which is what resize wants. close detaches it with grow(0) (the
// JS API gives the memory a new ArrayBuffer on every grow, and the old one reads as length 0), then
// drops the instance. One instance per mapping: V8 reserves about 10 GiB of address space per memory,
// which allows some 13,000 memories on x86-64 Linux, and pooling several views in one memory would
// make it impossible to detach one view without the others.
//
// Trust: the view's buffer is the instance's whole memory, so the user can write over anything in it.
// The fingerprint keys (drawn once, in the control instance, whose memory nobody else sees) and each
// mapping's fingerprints live here, in JavaScript, and are copied into the instance before every call
// that hashes (install) and the fingerprints out after it (adopt).
//
// Coherence within the process (API.md, "Semantics"): views of one file are found by device and inode
// (src/wasm/files.ts). A write-back of a chunk that another 'rw' view also maps is done chunk by chunk:
// the chunk is written, then copied into each such view that had not changed it, or merged byte by
// byte into one that had (a byte it holds that still equals the file's bytes from before the write is
// one it did not change).

import wasmBytes from '../../build/mmapfile.wasm'
import type { Backend, Capabilities, MapOptions, Mapping } from '../front/backend.js'
import { FileTable } from './files.js'
import { ERRNO_EXIST, describeErrno } from './errno.js'

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
  /** Registers a hook to run when the process (or worker thread) exits normally; the backend's hook
   *  writes back every 'rw' view still open (src/wasm/node.ts gives Node's). Without it, nothing is
   *  written back at exit. */
  onExit?: (hook: () => void) => void
  /** A WASI fd of the host's own for the file that the runtime's descriptor `fd` is open on, checked
   *  against the access asked for (`write`): what openFd maps (src/wasm/node-host.ts gives Node's on Linux).
   *  Throws Node-style errors (code, syscall). Without it, openFd fails with ENOTSUP. */
  adoptFd?: (fd: number, write: boolean) => number
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
  /** Writes back every live 'rw' view (what the exit hook does); failures are warnings on stderr. */
  writeBackAll(reason: string): void
}

/** What the module exports (assembly/index.ts documents each). */
interface Exports {
  memory: WebAssembly.Memory
  _initialize?(): void
  path_buffer(): number
  filestat_buffer(): number
  open_path(pathLength: number, how: number): number
  unlink_path(pathLength: number): number
  file_size(fd: number): number
  set_file_size(fd: number, size: number): number
  sync_fd(fd: number): number
  close_fd(fd: number): number
  draw_keys(): number
  read_at(fd: number, offset: number, length: number): number
  write_at(fd: number, offset: number, length: number): number
  reserve(fd: number, offset: number, length: number, flags: number): number
  fill_window(): number
  fingerprints_address(): number
  flush(start: number, end: number, durable: number): number
  chunk_changed(j: number): number
  rehash_chunk(j: number): void
  write_chunk(j: number): number
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
const CHUNK = 65536
const FP_BYTES = 16
const KEY1 = 65536
const KEY2 = 131072
const WINDOW = 196608
const ERRNO_BUSY = 10
/** Instances of closed mappings kept for reuse, at most, and only those whose memory is this small:
 *  making an instance and its memory is most of what a small open costs. */
const POOL_INSTANCES = 32
const POOL_MAX_BYTES = 2 << 20
/** The pool is emptied (its memories left to the collector) once unused for this long. */
const POOL_IDLE_MS = 1000
/** syncAsync writes back this many bytes of a view per turn of the event loop (a multiple of CHUNK). */
const SLICE = 4 << 20
const SYSCALLS = ['', 'open', 'read', 'write', 'fsync', 'ftruncate', 'fstat', 'close', 'unlink', 'getrandom', 'mmap']

const EMPTY = new ArrayBuffer(0)
const encoder = new TextEncoder()

function errnoError(errno: number, syscall: string): Error {
  const [code, description] = describeErrno(errno)
  return Object.assign(new Error(description), { code, syscall })
}

/** Throws the Node-style error for a negative result of `exports`; returns the result otherwise. */
function check(result: number, exports: Exports): number {
  if (result < 0) throw errnoError(-result, SYSCALLS[exports.last_syscall()] ?? 'open')
  return result
}

/** Chunks covering a window of `length` bytes at file offset `offset`. */
function chunkCount(offset: number, length: number): number {
  return length === 0 ? 0 : Math.floor((offset + length - 1) / CHUNK) - Math.floor(offset / CHUNK) + 1
}

/** Key bytes a window of `length` bytes needs: its longest chunk, rounded up to 32. */
function keyBytesFor(length: number): number {
  return (Math.min(length, CHUNK) + 31) & ~31
}

/**
 * Everything about one mapping that must outlive its view: the finalizer of a view dropped without
 * close and the exit hook write back from here, so nothing here refers to the view or its Mapping.
 */
class Core {
  /** The instance holding the bytes; null for an empty mapping, and once released. */
  exports: Exports | null = null
  /** The window's address in the instance's memory. */
  address = 0
  length = 0
  /** The file's fd in the host: kept by 'rw' mappings only; -1 otherwise, and once closed. */
  fd = -1
  /** The trusted fingerprints of an 'rw' mapping, 16 bytes per chunk of its window. */
  fps = new Uint8Array(0)
  /** The file's key in the table (src/wasm/files.ts); null for memory, and once released. */
  key: string | null = null
  /**
   * Chunks written since the last fsync that worked, each with the write-back that wrote it last. After
   * an fsync fails, Linux may have marked their pages clean without writing them, and a second fsync
   * then succeeds without them: so a failed fsync makes them look changed, and the retry writes them.
   */
  readonly unsettled = new Map<number, number>()
  /** Counts write-backs, for `unsettled`. */
  writeBacks = 0
  released = false
  constructor (
    readonly kind: 'r' | 'rw' | 'alloc',
    /** The window's file offset. */
    readonly offset: number,
    /** The absolute path (or 'fd N' for a view of a descriptor), for the warnings of write-backs nobody waits for. */
    readonly path: string | null,
    /** gc*: the write-back when the view is collected is made durable. */
    readonly autoClose: boolean,
    /** 'r' only: takes in the write-backs of the file's 'rw' views (MapOptions.follow). */
    readonly follows = false
  ) {}

  get writes (): boolean {
    return this.kind === 'rw'
  }

  get receives (): boolean {
    return this.kind === 'rw' || this.follows
  }
}

/** One mapping: the front reads buffer, byteOffset and byteLength; the core is ours. */
class WasmMapping implements Mapping {
  buffer: ArrayBuffer = EMPTY
  byteOffset = 0
  byteLength = 0
  constructor (readonly core: Core) {}
}

/** The WebAssembly backend over the given WASI host. */
export function createWasmBackend(options: WasmBackendOptions): WasmBackend {
  const { wasi, adoptFd } = options
  const module = options.module instanceof WebAssembly.Module
    ? options.module
    : new WebAssembly.Module(options.module ?? wasmBytes)
  const stats: WasmStats = { bytesRead: 0, bytesWritten: 0, liveInstances: 0 }
  const files = new FileTable<Core>()

  // Instances whose mapping was closed (memory detached, so the views read empty) and that may map
  // again: reserve() clears what the last mapping left in memory.
  const pool: Exports[] = []
  let poolUsed = 0
  let poolTimer: ReturnType<typeof setTimeout> | null = null

  function drainWhenIdle(): void {
    poolTimer = null
    if (pool.length === 0) return
    const idle = Date.now() - poolUsed
    if (idle >= POOL_IDLE_MS) pool.length = 0
    else armDrain(POOL_IDLE_MS - idle)
  }

  function armDrain(ms: number): void {
    if (poolTimer !== null) return
    poolTimer = setTimeout(drainWhenIdle, ms)
    // Node, Bun, Deno: the pool must not keep the process alive.
    ;(poolTimer as { unref?: () => void }).unref?.()
  }

  /** Keeps a detached instance for the next mapping, if it is small and the pool has room. */
  function recycle(exports: Exports): void {
    if (pool.length >= POOL_INSTANCES || exports.memory.buffer.byteLength > POOL_MAX_BYTES) return
    pool.push(exports)
    poolUsed = Date.now()
    armDrain(POOL_IDLE_MS)
  }

  /** An instance for a new mapping: a pooled one, or a new one. */
  function mappingInstance(): Exports {
    const pooled = pool.pop()
    if (pooled === undefined) return instantiate()
    poolUsed = Date.now()
    return pooled
  }

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

  /** The instance that opens, sizes, closes and unlinks files, draws the keys and reads old chunks. */
  const control = instantiate()
  const maxViewBytes = control.max_window()
  const capabilities: Capabilities = Object.freeze({ coherent: false, writeBackGranularity: CHUNK, maxViewBytes })
  /** Both fingerprint keys, drawn on first use: [KEY1 bytes | KEY2 bytes]. */
  let keys: Uint8Array | null = null

  function theKeys(): Uint8Array {
    if (keys === null) {
      check(control.draw_keys(), control)
      keys = new Uint8Array(control.memory.buffer, KEY1, 2 * CHUNK).slice()
    }
    return keys
  }

  /** Copies the keys (for a window of `length` bytes) and the trusted fingerprints into the instance. */
  function install(core: Core, exports: Exports, length = core.length): void {
    const memory = new Uint8Array(exports.memory.buffer)
    const k = theKeys()
    const n = keyBytesFor(length)
    memory.set(k.subarray(0, n), KEY1)
    memory.set(k.subarray(CHUNK, CHUNK + n), KEY2)
    memory.set(core.fps, exports.fingerprints_address())
  }

  /** Copies the instance's fingerprints out, as the trusted ones. */
  function adopt(core: Core, exports: Exports): void {
    core.fps.set(new Uint8Array(exports.memory.buffer, exports.fingerprints_address(), core.fps.length))
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

  /** The size of the file open as fd, and its key in the table. */
  function identify(fd: number): { size: number, key: string } {
    const size = check(control.file_size(fd), control)
    const stat = new Uint32Array(control.memory.buffer, control.filestat_buffer(), 4)
    return { size, key: FileTable.keyOf(stat[0], stat[1], stat[2], stat[3]) }
  }

  /** Closes fd, for cleanup after another error: a failure here would hide the first one. */
  function closeQuietly(fd: number): void {
    if (fd >= 0) control.close_fd(fd)
  }

  function busy(syscall: string): Error {
    return errnoError(ERRNO_BUSY, syscall)
  }

  function tooLarge(byteLength: number): RangeError {
    return new RangeError(`the window of ${byteLength} bytes is larger than the largest view (${maxViewBytes} bytes); ` +
      'map a window with options.offset and options.length')
  }

  /** Gives `core` an instance mapping `length` bytes of fd at its offset; on failure nothing is left. */
  function mapInstance(core: Core, fd: number, length: number, flags: number): void {
    const exports = mappingInstance()
    const tracked = (flags & MAP_TRACK) !== 0
    try {
      const address = check(exports.reserve(fd, core.offset, length, flags), exports)
      if (tracked) {
        core.fps = new Uint8Array(chunkCount(core.offset, length) * FP_BYTES)
        install(core, exports, length)
      }
      const loaded = exports.fill_window()
      count(exports)
      check(loaded, exports)
      core.address = address
    } catch (error) {
      // Its memory was never handed out: the instance can serve again.
      exports.memory.grow(0)
      recycle(exports)
      throw error
    }
    if (tracked) adopt(core, exports)
    core.exports = exports
    core.length = length
    stats.liveInstances++
  }

  /** Points the mapping at its core's window. */
  function attach(mapping: WasmMapping): WasmMapping {
    const { core } = mapping
    mapping.buffer = core.exports === null ? EMPTY : core.exports.memory.buffer
    mapping.byteOffset = core.exports === null ? 0 : core.address
    mapping.byteLength = core.length
    return mapping
  }

  /**
   * Lets the core go: out of the table, its instance dropped. With `detach`, the memory's buffer is
   * detached first, so that every view of it reads as length 0 (close); without, a buffer still held
   * keeps its bytes (a view that was collected: a Buffer over its memory may still be in use).
   */
  function release(core: Core, detach: boolean): void {
    if (core.released) return
    core.released = true
    if (core.key !== null) files.remove(core.key, core)
    core.key = null
    const { exports } = core
    core.exports = null
    core.length = 0
    if (exports !== null) {
      stats.liveInstances--
      if (!detach) return
      exports.memory.grow(0)
      recycle(exports)
    }
  }

  /** Reads what the file holds at [start, start + length) (length <= CHUNK), zeros past its end. */
  function fileBytes(fd: number, start: number, length: number): Uint8Array {
    const got = check(control.read_at(fd, start, length), control)
    const out = new Uint8Array(length)
    out.set(new Uint8Array(control.memory.buffer, WINDOW, got))
    return out
  }

  /** Writes `bytes` (CHUNK at most) to fd at `start`, after fileBytes has made room for them. */
  function putBack(fd: number, start: number, bytes: Uint8Array): number {
    new Uint8Array(control.memory.buffer, WINDOW, bytes.length).set(bytes)
    return control.write_at(fd, start, bytes.length)
  }

  /** The window bytes [start, end) (file offsets, inside the window) of an instance. */
  function bytesAt(core: Core, exports: Exports, start: number, end: number): Uint8Array {
    return new Uint8Array(exports.memory.buffer, core.address + start - core.offset, end - start)
  }

  /**
   * Writes back the changed chunks of an 'rw' core that meet window bytes [start, end), carrying them
   * over to the other 'rw' views of the file that overlap them; with `durable`, then makes the file
   * durable. Throws on failure: chunks written keep their new fingerprints, the others their old ones,
   * so that a retry writes what is left.
   */
  function writeBack(core: Core, start: number, end: number, durable: boolean): void {
    const { exports, key } = core
    if (!core.writes || core.fd < 0) return
    if (exports === null) {
      // Nothing mapped, but create or resize may have sized the file.
      if (durable) check(control.sync_fd(core.fd), control)
      return
    }
    // The write-back writes whole chunks (their part in the window): the views to carry it over to are
    // those overlapping the chunks that meet [start, end), not only that range.
    const from = Math.max(core.offset, Math.floor((core.offset + start) / CHUNK) * CHUNK)
    const to = Math.min(core.offset + core.length, Math.ceil((core.offset + end) / CHUNK) * CHUNK)
    const others = key === null || start >= end ? [] : files.receiversOver(key, core, from, to)
    const installed = new Map<Core, Exports>([[core, exports]])
    const before = core.fps.slice()
    let syncFailed = false
    install(core, exports)
    try {
      if (others.length === 0) {
        check(exports.flush(start, end, durable ? 1 : 0), exports)
      } else {
        writeShared(core, exports, others, start, end, installed)
        if (durable) check(exports.flush(0, 0, 1), exports)
      }
    } catch (error) {
      syncFailed = (error as { syscall?: unknown }).syscall === 'fsync'
      throw error
    } finally {
      for (const [each, its] of installed) {
        count(its)
        adopt(each, its)
      }
      noteWritten(core, before)
      if (syncFailed) unsettle(core, core.unsettled)
    }
    if (durable) core.unsettled.clear()
  }

  /** Adds to core.unsettled the chunks a write-back wrote: those whose fingerprint it changed. */
  function noteWritten(core: Core, before: Uint8Array): void {
    const was = new Uint32Array(before.buffer, before.byteOffset, before.byteLength >> 2)
    const now = new Uint32Array(core.fps.buffer, core.fps.byteOffset, core.fps.byteLength >> 2)
    const pass = ++core.writeBacks
    for (let i = 0; i < now.length; i += 4) {
      if (was[i] !== now[i] || was[i + 1] !== now[i + 1] || was[i + 2] !== now[i + 2] || was[i + 3] !== now[i + 3]) {
        core.unsettled.set(i >> 2, pass)
      }
    }
  }

  /** Makes the chunks look changed (their fingerprints no longer match), so that the next write-back writes them. */
  function unsettle(core: Core, chunks: ReadonlyMap<number, number>): void {
    for (const j of chunks.keys()) {
      if (j * FP_BYTES < core.fps.length) core.fps[j * FP_BYTES] ^= 1
    }
  }

  /** writeBack's chunk-by-chunk path, for a range that other views of the file receiving write-backs overlap. */
  function writeShared(core: Core, exports: Exports, others: Core[], start: number, end: number,
    installed: Map<Core, Exports>): void {
    const base = Math.floor(core.offset / CHUNK)
    const first = Math.floor((core.offset + start) / CHUNK) - base
    const last = Math.floor((core.offset + end - 1) / CHUNK) - base
    /** Window offset where chunk j of the core starts (0 for j = 0; the window's length past the end). */
    const startOf = (j: number): number => Math.min(core.length, Math.max(0, (base + j) * CHUNK - core.offset))
    let run = first // the first chunk of the pending run that no other view overlaps
    const writeRun = (upTo: number): void => {
      if (run < upTo) check(exports.flush(startOf(run), startOf(upTo), 0), exports)
    }
    for (let j = first; j <= last; j++) {
      const from = core.offset + startOf(j)
      const to = core.offset + startOf(j + 1)
      const over = others.filter((w) => w.offset < to && w.offset + w.length > from)
      if (over.length === 0) continue
      writeRun(j)
      run = j + 1
      if (exports.chunk_changed(j) === 0) continue
      const chunk = base + j
      const changed = over.map((w) => {
        let its = installed.get(w)
        if (its === undefined) {
          its = w.exports as Exports
          install(w, its)
          installed.set(w, its)
        }
        return its.chunk_changed(chunk - Math.floor(w.offset / CHUNK)) === 1
      })
      const old = changed.includes(true) ? fileBytes(core.fd, from, to - from) : null
      const result = exports.write_chunk(j)
      if (result < 0) {
        // Part of the chunk may be in the file now, where the other views' merges take it to hold
        // what it held before: put that back (best effort; the write's error is the one reported).
        // Where nothing was read, every such view still holds those bytes, and writes its own.
        if (old !== null) putBack(core.fd, from, old)
        else for (const w of over) if (w.writes) (installed.get(w) as Exports).write_chunk(chunk - Math.floor(w.offset / CHUNK))
        check(result, exports)
      }
      over.forEach((w, i) => {
        const its = installed.get(w) as Exports
        const s = Math.max(from, w.offset)
        const e = Math.min(to, w.offset + w.length)
        const written = bytesAt(core, exports, s, e)
        const theirs = bytesAt(w, its, s, e)
        if (old === null || !changed[i]) {
          theirs.set(written)
          its.rehash_chunk(chunk - Math.floor(w.offset / CHUNK))
          return
        }
        // It changed this chunk too: keep the bytes it changed (those that differ from the file's
        // old bytes), take the rest.
        for (let k = 0, o = s - from; k < theirs.length; k++, o++) {
          if (theirs[k] === old[o]) theirs[k] = written[k]
        }
      })
    }
    writeRun(last + 1)
  }

  // A mapping dropped without close (its view collected): an 'rw' one is written back, durably for
  // the gc* variants, as a native shared mapping's pages reach the file when it is unmapped; its fd
  // is closed. Its memory is not detached: a Buffer over it may still be in use, and keeps its bytes
  // (what is written there afterwards is not written back). The held value is the core, which holds
  // neither the view nor the mapping, or they would never be collected.
  const collected = new FinalizationRegistry<Core>((core) => {
    if (core.released) return
    if (core.writes) {
      try {
        writeBack(core, 0, core.length, core.autoClose)
      } catch (error) {
        warn(core, 'when its view was garbage-collected', error)
      }
    }
    closeQuietly(core.fd) // 'rw', and 'r' views that follow the file
    core.fd = -1
    release(core, false)
  })

  function warn(core: Core, when: string, error: unknown): void {
    const what = error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error)
    console.error(`mmapfile: warning: the changes to '${core.path}' could not be written back ${when} (${what})`)
  }

  /**
   * syncAsync's write-back: the changed chunks meeting [start, end), SLICE bytes at a time, with a turn
   * of the event loop between slices, so that no turn is held longer than hashing and writing one
   * slice takes (the first slice is written at once). A write to the view meanwhile is in this
   * write-back if its chunk's slice comes later, in the next one if not, as with msync. A close
   * meanwhile writes everything itself; a resize meanwhile bounds what is left.
   */
  async function writeBackInSlices(core: Core, start: number, end: number): Promise<void> {
    let at = start
    while (at < end && !core.released && core.fd >= 0) {
      const stop = Math.min(end, core.length, (Math.floor((core.offset + at) / SLICE) + 1) * SLICE - core.offset)
      if (stop <= at) return
      writeBack(core, at, stop, false)
      at = stop
      if (at < end) await new Promise<void>((resolve) => defer(resolve))
    }
  }

  /** syncAsync's durable step: fsync off this thread where the host can, else on a later turn. */
  async function fsyncLater(core: Core): Promise<void> {
    const fd = core.fd
    if (fd < 0) return // closed meanwhile: close made the file durable itself
    const settling = new Map(core.unsettled)
    const errno = options.fdSyncAsync !== undefined
      ? await options.fdSyncAsync(fd)
      : await new Promise<number>((resolve) => defer(() => resolve(core.fd === fd ? -control.sync_fd(fd) : 0)))
    // A close meanwhile made the file durable itself, and its fd may be gone or reused.
    if (core.fd !== fd) return
    if (errno !== 0) {
      unsettle(core, settling)
      throw errnoError(errno, 'fsync')
    }
    // Chunks written again while the fsync ran may have missed it.
    for (const [j, pass] of settling) if (core.unsettled.get(j) === pass) core.unsettled.delete(j)
  }

  function writeBackAll(reason: string): void {
    for (const core of [...files.writers()]) {
      try {
        writeBack(core, 0, core.length, false)
      } catch (error) {
        warn(core, reason, error)
      }
    }
  }

  // A process (or worker) that ends without closing its 'rw' views keeps their writes, as it would on
  // native, where the page cache has them. Not durable: only sync and close promise that.
  options.onExit?.(() => writeBackAll('at exit'))

  /** A new mapping of `core`, registered for the write-back when dropped, and in the file table. */
  function hand(core: Core, key: string | null): WasmMapping {
    const mapping = new WasmMapping(core)
    collected.register(mapping, core, core)
    if (key !== null) {
      core.key = key
      files.add(key, core)
    }
    return attach(mapping)
  }

  function openPath(path: string, how: number): number {
    return check(control.open_path(putPath(path), how), control)
  }

  /**
   * open's and openFd's mapping of the file open as WASI fd `fd` (ours: closed on failure, kept by 'rw'
   * views and by 'r' views that follow the file, closed at once by other 'r' views, which have read
   * everything they will ever read). `name` is the path, or what names the descriptor, for warnings.
   */
  function mapOpened(fd: number, name: string, mode: 'r' | 'rw', offset: number, length: number | null,
    { autoClose, follow }: MapOptions): WasmMapping {
    const core = new Core(mode, offset, name, autoClose, mode === 'r' && follow === true)
    try {
      const { size, key } = identify(fd)
      if (offset > size) throw new RangeError(`offset ${offset} is beyond the end of the file (${size} bytes)`)
      if (length !== null && offset + length > size) {
        throw new RangeError(`window [${offset}, ${offset + length}) is beyond the end of the file (${size} bytes)`)
      }
      const byteLength = length ?? size - offset
      if (byteLength > maxViewBytes) throw tooLarge(byteLength)
      const tracked = core.receives && byteLength > 0
      if (byteLength > 0) mapInstance(core, fd, byteLength, tracked ? MAP_READ | MAP_TRACK : MAP_READ)
      if (tracked || mode === 'rw') core.fd = fd
      else control.close_fd(fd)
      return hand(core, key)
    } catch (error) {
      release(core, true)
      closeQuietly(fd)
      throw error
    }
  }

  /**
   * Sizes a file that create has opened (existing, `size` bytes, or new) to `byteLength` zeros. An
   * existing file keeps its bytes until they can be let go: it is grown first, so that a size it cannot
   * take fails while they are whole (and the growth is undone if emptying it then fails); once emptied,
   * a failure to size it leaves it empty, and the error says so.
   */
  function sizeCreated(fd: number, size: number, byteLength: number): void {
    const grown = size > 0 && byteLength > size
    if (grown) check(control.set_file_size(fd, byteLength), control)
    if (size > 0) {
      const result = control.set_file_size(fd, 0)
      if (result < 0) {
        const error = errnoError(-result, 'ftruncate')
        if (grown) control.set_file_size(fd, size)
        throw error
      }
    }
    const result = control.set_file_size(fd, byteLength)
    if (result < 0) throw Object.assign(errnoError(-result, 'ftruncate'), { emptied: size > 0 })
  }

  const backend: WasmBackend = {
    name: 'wasm',
    capabilities,
    pageSize: options.pageSize ?? 4096,
    stats,
    writeBackAll,

    open(path, mode, offset, length, options: MapOptions) {
      return mapOpened(openPath(path, mode === 'rw' ? HOW_READ_WRITE : HOW_READ), path, mode, offset, length, options)
    },

    openFd(given, mode, offset, length, options: MapOptions) {
      if (adoptFd === undefined) {
        throw Object.assign(new Error('this host cannot map a file descriptor; map the file by its path'), { code: 'ENOTSUP', syscall: 'open' })
      }
      return mapOpened(adoptFd(given, mode === 'rw'), `fd ${given}`, mode, offset, length, options)
    },

    create(path, byteLength, { autoClose }: MapOptions) {
      if (byteLength > maxViewBytes) throw tooLarge(byteLength)
      let created = true
      let fd = control.open_path(putPath(path), HOW_CREATE_NEW)
      if (fd === -ERRNO_EXIST) {
        created = false
        fd = control.open_path(putPath(path), HOW_CREATE_OR_OPEN)
      }
      check(fd, control)
      const core = new Core('rw', 0, path, autoClose)
      try {
        const { size, key } = identify(fd)
        if (files.end(key) > 0) throw busy('open') // emptying the file would cut another live view
        // The instance first (zeros, with their fingerprints): the file is changed only once it exists.
        if (byteLength > 0) mapInstance(core, fd, byteLength, MAP_TRACK | MAP_UNSYNCED)
        sizeCreated(fd, size, byteLength)
        core.fd = fd
        return hand(core, key)
      } catch (error) {
        release(core, true)
        closeQuietly(fd)
        if (created) control.unlink_path(putPath(path))
        throw error
      }
    },

    alloc(byteLength) {
      if (byteLength > maxViewBytes) throw tooLarge(byteLength)
      const core = new Core('alloc', 0, null, false)
      if (byteLength > 0) mapInstance(core, -1, byteLength, 0)
      return hand(core, null)
    },

    close(view) {
      const mapping = asMapping(view)
      const { core } = mapping
      if (core.released) return
      // If writing back fails, this throws and the mapping stays open and whole, for a retry.
      writeBack(core, 0, core.length, true)
      const fd = core.fd
      core.fd = -1
      collected.unregister(core)
      release(core, true)
      attach(mapping)
      // Not an error: the changes are durable, the view is gone, and close(2) frees the descriptor
      // even when it fails (Linux); a throw here would leave a closed view that the front takes
      // for open. Native ignores it too.
      closeQuietly(fd)
    },

    sync(view, offset, length, durable = true) {
      const { core } = asMapping(view)
      writeBack(core, offset, offset + length, durable)
    },

    syncAsync(view, offset, length, durable = true) {
      let core: Core
      try {
        core = asMapping(view).core
      } catch (error) {
        return Promise.reject(error)
      }
      if (!core.writes || core.fd < 0) return Promise.resolve()
      const written = writeBackInSlices(core, offset, offset + length)
      return durable ? written.then(() => fsyncLater(core)) : written
    },

    resize(view, byteLength) {
      const mapping = asMapping(view)
      const { core } = mapping
      if (core.kind === 'r') throw new TypeError('a read-only mapping cannot be resized')
      if (byteLength > maxViewBytes) throw tooLarge(byteLength)
      // The file is cut at the smaller window end (growth first cuts what was past the window).
      const keep = core.offset + Math.min(byteLength, core.length)
      if (core.key !== null && files.end(core.key, core) > keep) throw busy('ftruncate')
      const tracked = core.writes
      const flags = tracked ? MAP_TRACK | MAP_UNSYNCED : 0
      if (core.exports === null) {
        // An empty mapping has no instance yet: make one of length 0, then resize it as any other.
        mapInstance(core, core.fd, 0, flags)
      }
      const exports = core.exports as Exports
      // The chunk at the end changes length, so its fingerprint cannot be carried over: write it back
      // first if it changed (to the other views of the file too).
      const common = Math.min(byteLength, core.length)
      if (tracked && common > 0 && (core.offset + common) % CHUNK !== 0) writeBack(core, common - 1, common, false)
      if (tracked) install(core, exports, Math.max(core.length, byteLength))
      const old = exports.memory.buffer
      const result = exports.resize(byteLength)
      count(exports)
      // On failure the module left memory, and so the caller's view, as they were.
      check(result, exports)
      if (tracked) {
        core.fps = new Uint8Array(chunkCount(core.offset, byteLength) * FP_BYTES)
        adopt(core, exports)
      }
      core.length = byteLength
      // Growing gave the memory a new buffer; if it did not grow, detach the old one here.
      if (exports.memory.buffer === old) exports.memory.grow(0)
      return attach(mapping)
    },

    advise() {
      // Nothing to advise: the bytes are in memory already.
    },

    incore(view, offset, length) {
      // Every byte is in the instance's memory; pages as native counts them, aligned to file offsets.
      const { core } = asMapping(view)
      const page = backend.pageSize
      const start = core.offset + Math.min(offset, core.length)
      const end = core.offset + Math.min(offset + length, core.length)
      const pages = end > start ? Math.ceil(end / page) - Math.floor(start / page) : 0
      return [pages, pages]
    }
  }
  return backend
}

function asMapping(mapping: Mapping): WasmMapping {
  if (!(mapping instanceof WasmMapping)) throw new TypeError('not a mapping of the wasm backend')
  return mapping
}

const defer: (callback: () => void) => void =
  typeof setImmediate === 'function' ? setImmediate : (callback) => setTimeout(callback, 0)
