// The WebAssembly backend: each mapping is an instance of the mmapfile module (assembly/) whose linear
// memory holds the mapped bytes; the view is a typed array over that memory at a fixed 64 KiB-aligned
// address. The module does all file I/O through WASI preview1, so this backend only instantiates it
// (src/wasm/instances.ts), checks windows, writes back and carries write-backs over between views of
// one file (src/wasm/write-back.ts), and turns negative errnos into errors. No Node imports: the WASI
// host is given in (src/wasm/node-host.ts for Node, src/wasm/shim-host.ts for @bjorn3/browser_wasi_shim).
//
// Memory rules: an instance's memory grows once, when it is mapped; only resize grows it again, and
// growing detaches the old buffer, which is what resize wants. close detaches it with grow(0) (the
// JS API gives the memory a new ArrayBuffer on every grow, and the old one reads as length 0), then
// pools the instance. One instance per mapping: V8 reserves about 10 GiB of address space per memory,
// which allows some 13,000 memories on x86-64 Linux, and pooling several views in one memory would
// make it impossible to detach one view without the others.

import wasmBytes from '../../build/mmapfile.wasm'
import type { Backend, Capabilities, MapOptions, Mapping } from '../front/backend.js'
import { offsetBeyondEnd, tooLarge, windowBeyondEnd, windowError } from '../front/errors.js'
import type { Mode } from '../front/types.js'
import { Control } from './control.js'
import { Core, WasmMapping, asMapping, attach } from './core.js'
import { ERRNO_EXIST } from './errno.js'
import { FileTable } from './files.js'
import { Instances } from './instances.js'
import { errnoError } from './module.js'
import type { Exports, Layout, WasiHost } from './module.js'
import { WriteBacks, warn } from './write-back.js'
import type { WasmStats } from './write-back.js'

export type { WasiHost } from './module.js'
export type { WasmStats } from './write-back.js'

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

export interface WasmBackend extends Backend {
  readonly name: 'wasm'
  readonly stats: WasmStats
  /** Writes back every live 'rw' view (what the exit hook does); failures are warnings on stderr. */
  writeBackAll(reason: string): void
}

const ERRNO_BUSY = 10

/** The WebAssembly backend over the given WASI host. */
export function createWasmBackend(options: WasmBackendOptions): WasmBackend {
  return new WasmFileBackend(options)
}

class WasmFileBackend implements WasmBackend {
  readonly name = 'wasm'
  readonly capabilities: Capabilities
  readonly pageSize: number
  readonly stats: WasmStats = { bytesRead: 0, bytesWritten: 0, liveInstances: 0 }
  readonly #files = new FileTable<Core>()
  readonly #instances: Instances
  readonly #layout: Layout
  readonly #control: Control
  readonly #writeBacks: WriteBacks
  readonly #maxViewBytes: number
  readonly #adoptFd: ((fd: number, write: boolean) => number) | undefined

  // A mapping dropped without close (its view collected): an 'rw' one is written back, durably for
  // the gc* variants, as a native shared mapping's pages reach the file when it is unmapped; its fd
  // is closed. Its memory is not detached: a Buffer over it may still be in use, and keeps its bytes
  // (what is written there afterwards is not written back). The held value is the core, which holds
  // neither the view nor the mapping, or they would never be collected.
  readonly #collected = new FinalizationRegistry<Core>((core) => {
    if (core.released) return
    if (core.writes) {
      try {
        this.#writeBacks.writeBack(core, 0, core.length, core.autoClose)
      } catch (error) {
        warn(core, 'when its view was garbage-collected', error)
      }
    }
    this.#control.closeQuietly(core.fd) // 'rw', and 'r' views that follow the file
    core.fd = -1
    this.#release(core, false)
  })

  constructor(options: WasmBackendOptions) {
    const module =
      options.module instanceof WebAssembly.Module
        ? options.module
        : new WebAssembly.Module(options.module ?? wasmBytes)
    this.#instances = new Instances(module, options.wasi)
    this.#layout = this.#instances.layout
    this.#control = new Control(this.#instances)
    this.#writeBacks = new WriteBacks(this.#instances, this.#control, this.#files, this.stats, options.fdSyncAsync)
    this.#maxViewBytes = this.#control.maxWindow
    this.#adoptFd = options.adoptFd
    this.pageSize = options.pageSize ?? 4096
    this.capabilities = Object.freeze({
      coherent: false,
      writeBackGranularity: this.#layout.CHUNK,
      maxViewBytes: this.#maxViewBytes
    })
    // A process (or worker) that ends without closing its 'rw' views keeps their writes, as it would on
    // native, where the page cache has them. Not durable: only sync and close promise that.
    options.onExit?.(() => this.#writeBacks.all('at exit'))
  }

  writeBackAll(reason: string): void {
    this.#writeBacks.all(reason)
  }

  #checkFits(byteLength: number): void {
    if (byteLength > this.#maxViewBytes) {
      throw windowError(tooLarge(byteLength, this.#maxViewBytes, true))
    }
  }

  /** Gives `core` an instance mapping `length` bytes of fd at its offset; on failure nothing is left. */
  #mapInstance(core: Core, fd: number, length: number, flags: number): void {
    const instances = this.#instances
    const exports = instances.take()
    const tracked = (flags & this.#layout.MAP_TRACK) !== 0
    try {
      const address = instances.check(exports.reserve(fd, core.offset, length, flags), exports)
      if (tracked) {
        core.fps = this.#writeBacks.fingerprints(core, length)
        this.#writeBacks.install(core, exports, length)
      }
      const loaded = exports.fill_window()
      this.#writeBacks.count(exports)
      instances.check(loaded, exports)
      core.address = address
    } catch (error) {
      // Its memory was never handed out: the instance can serve again.
      exports.memory.grow(0)
      instances.recycle(exports)
      throw error
    }
    if (tracked) this.#writeBacks.adopt(core, exports)
    core.exports = exports
    core.length = length
    this.stats.liveInstances++
  }

  /**
   * Lets the core go: out of the table, its instance dropped. With `detach`, the memory's buffer is
   * detached first, so that every view of it reads as length 0 (close); without, a buffer still held
   * keeps its bytes (a view that was collected: a Buffer over its memory may still be in use).
   */
  #release(core: Core, detach: boolean): void {
    if (core.released) return
    core.released = true
    if (core.key !== null) this.#files.remove(core.key, core)
    core.key = null
    const { exports } = core
    core.exports = null
    core.length = 0
    if (exports !== null) {
      this.stats.liveInstances--
      if (!detach) return
      exports.memory.grow(0)
      this.#instances.recycle(exports)
    }
  }

  /** A new mapping of `core`, registered for the write-back when dropped, and in the file table. */
  #hand(core: Core, key: string | null): WasmMapping {
    const mapping = new WasmMapping(core)
    this.#collected.register(mapping, core, core)
    if (key !== null) {
      core.key = key
      this.#files.add(key, core)
    }
    return attach(mapping)
  }

  /**
   * open's and openFd's mapping of the file open as WASI fd `fd` (ours: closed on failure, kept by 'rw'
   * views and by 'r' views that follow the file, closed at once by other 'r' views, which have read
   * everything they will ever read). `name` is the path, or what names the descriptor, for warnings.
   */
  #mapOpened(
    fd: number,
    name: string,
    mode: 'r' | 'rw',
    offset: number,
    length: number | null,
    { autoClose, follow }: MapOptions
  ): WasmMapping {
    const core = new Core(mode, offset, name, autoClose, mode === 'r' && follow === true)
    const layout = this.#layout
    try {
      const { size, key } = this.#control.identify(fd)
      if (offset > size) throw windowError(offsetBeyondEnd(offset, size))
      if (length !== null && offset + length > size) throw windowError(windowBeyondEnd(offset, offset + length, size))
      const byteLength = length ?? size - offset
      this.#checkFits(byteLength)
      const tracked = core.receives && byteLength > 0
      if (byteLength > 0)
        this.#mapInstance(core, fd, byteLength, tracked ? layout.MAP_READ | layout.MAP_TRACK : layout.MAP_READ)
      if (tracked || mode === 'rw') core.fd = fd
      else this.#control.close(fd)
      return this.#hand(core, key)
    } catch (error) {
      this.#release(core, true)
      this.#control.closeQuietly(fd)
      throw error
    }
  }

  /** The file that create maps: created anew (`created`), or an existing one opened without truncating. */
  #openForCreate(path: string): { fd: number; created: boolean } {
    const control = this.#control
    const fd = control.openPath(path, this.#layout.HOW_CREATE_NEW)
    if (fd !== -ERRNO_EXIST) return { fd: control.check(fd), created: true }
    return { fd: control.check(control.openPath(path, this.#layout.HOW_CREATE_OR_OPEN)), created: false }
  }

  open(path: string, mode: Mode, offset: number, length: number | null, mapOptions: MapOptions): WasmMapping {
    const how = mode === 'rw' ? this.#layout.HOW_READ_WRITE : this.#layout.HOW_READ
    const fd = this.#control.check(this.#control.openPath(path, how))
    return this.#mapOpened(fd, path, mode, offset, length, mapOptions)
  }

  openFd(given: number, mode: Mode, offset: number, length: number | null, mapOptions: MapOptions): WasmMapping {
    if (this.#adoptFd === undefined) {
      throw Object.assign(new Error('this host cannot map a file descriptor; map the file by its path'), {
        code: 'ENOTSUP',
        syscall: 'open'
      })
    }
    return this.#mapOpened(this.#adoptFd(given, mode === 'rw'), `fd ${given}`, mode, offset, length, mapOptions)
  }

  create(path: string, byteLength: number, { autoClose }: MapOptions): WasmMapping {
    this.#checkFits(byteLength)
    const control = this.#control
    const { fd, created } = this.#openForCreate(path)
    const core = new Core('rw', 0, path, autoClose)
    try {
      const { size, key } = control.identify(fd)
      if (this.#files.end(key) > 0) throw errnoError(ERRNO_BUSY, 'open') // emptying the file would cut another live view
      // The instance first (zeros, with their fingerprints): the file is changed only once it exists.
      if (byteLength > 0) this.#mapInstance(core, fd, byteLength, this.#layout.MAP_TRACK | this.#layout.MAP_UNSYNCED)
      control.sizeCreated(fd, size, byteLength)
      core.fd = fd
      return this.#hand(core, key)
    } catch (error) {
      this.#release(core, true)
      control.closeQuietly(fd)
      if (created) control.unlink(path)
      throw error
    }
  }

  alloc(byteLength: number): WasmMapping {
    this.#checkFits(byteLength)
    const core = new Core('alloc', 0, null, false)
    if (byteLength > 0) this.#mapInstance(core, -1, byteLength, 0)
    return this.#hand(core, null)
  }

  close(view: Mapping): void {
    const mapping = asMapping(view)
    const { core } = mapping
    if (core.released) return
    // If writing back fails, this throws and the mapping stays open and whole, for a retry.
    this.#writeBacks.writeBack(core, 0, core.length, true)
    const fd = core.fd
    core.fd = -1
    this.#collected.unregister(core)
    this.#release(core, true)
    attach(mapping)
    // Not an error: the changes are durable, the view is gone, and close(2) frees the descriptor
    // even when it fails (Linux); a throw here would leave a closed view that the front takes
    // for open. Native ignores it too.
    this.#control.closeQuietly(fd)
  }

  sync(view: Mapping, offset: number, length: number, durable = true): void {
    this.#writeBacks.writeBack(asMapping(view).core, offset, offset + length, durable)
  }

  syncAsync(view: Mapping, offset: number, length: number, durable = true): Promise<void> {
    let core: Core
    try {
      core = asMapping(view).core
    } catch (error) {
      return Promise.reject(error)
    }
    if (!core.writes || core.fd < 0) return Promise.resolve()
    const written = this.#writeBacks.inSlices(core, offset, offset + length)
    return durable ? written.then(() => this.#writeBacks.fsyncLater(core)) : written
  }

  resize(view: Mapping, byteLength: number): WasmMapping {
    const mapping = asMapping(view)
    const { core } = mapping
    const { CHUNK, MAP_TRACK, MAP_UNSYNCED } = this.#layout
    if (core.kind === 'r') throw new TypeError('a read-only mapping cannot be resized')
    this.#checkFits(byteLength)
    // The file is cut at the smaller window end (growth first cuts what was past the window).
    const keep = core.offset + Math.min(byteLength, core.length)
    if (core.key !== null && this.#files.end(core.key, core) > keep) throw errnoError(ERRNO_BUSY, 'ftruncate')
    const tracked = core.writes
    // An empty mapping has no instance yet: make one of length 0, then resize it as any other.
    if (core.exports === null) this.#mapInstance(core, core.fd, 0, tracked ? MAP_TRACK | MAP_UNSYNCED : 0)
    const exports = core.exports as unknown as Exports
    // The chunk at the end changes length, so its fingerprint cannot be carried over: write it back
    // first if it changed (to the other views of the file too).
    const common = Math.min(byteLength, core.length)
    if (tracked && common > 0 && (core.offset + common) % CHUNK !== 0)
      this.#writeBacks.writeBack(core, common - 1, common, false)
    if (tracked) this.#writeBacks.install(core, exports, Math.max(core.length, byteLength))
    const old = exports.memory.buffer
    const result = exports.resize(byteLength)
    this.#writeBacks.count(exports)
    // On failure the module left memory, and so the caller's view, as they were.
    this.#instances.check(result, exports)
    if (tracked) {
      core.fps = this.#writeBacks.fingerprints(core, byteLength)
      this.#writeBacks.adopt(core, exports)
    }
    core.length = byteLength
    // Growing gave the memory a new buffer; if it did not grow, detach the old one here.
    if (exports.memory.buffer === old) exports.memory.grow(0)
    return attach(mapping)
  }

  advise(): void {
    // Nothing to advise: the bytes are in memory already.
  }

  incore(view: Mapping, offset: number, length: number): [number, number] {
    // Every byte is in the instance's memory; pages as native counts them, aligned to file offsets.
    const { core } = asMapping(view)
    const page = this.pageSize
    const start = core.offset + Math.min(offset, core.length)
    const end = core.offset + Math.min(offset + length, core.length)
    const pages = end > start ? Math.ceil(end / page) - Math.floor(start / page) : 0
    return [pages, pages]
  }
}
