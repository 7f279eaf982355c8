// Writing mappings back: the changed chunks of an 'rw' core to its file, carried over to the other
// views of the file in this realm (API.md, "Semantics"), with what it takes to trust the result.
//
// Trust: a view's buffer is its instance's whole memory, so the user can write over anything in it.
// The fingerprint keys (drawn once by the control instance, whose memory nobody else sees) and each
// mapping's fingerprints live here, in JavaScript, and are copied into the instance before every call
// that hashes (install), the fingerprints out after it (adopt).
//
// Coherence: views of one file are found by device and inode (src/wasm/files.ts). A write-back of a
// chunk that another view receiving write-backs also maps goes chunk by chunk: the chunk is written,
// then copied into each such view that had not changed it, or merged byte by byte into one that had
// (a byte it holds that still equals the file's bytes from before the write is one it did not change).

import type { Control } from './control.js'
import { chunkCount } from './core.js'
import type { Core } from './core.js'
import type { FileTable } from './files.js'
import type { Instances } from './instances.js'
import { errnoError } from './module.js'
import type { Exports } from './module.js'

/** syncAsync writes back this many bytes of a view per turn of the event loop (a multiple of the chunk). */
const SLICE = 4 << 20

/** Counters for benchmarks and tests, since the backend was created. */
export interface WasmStats {
  /** Bytes read by fd_pread. */
  bytesRead: number
  /** Bytes written back by fd_pwrite. */
  bytesWritten: number
  /** Module instances holding a mapping now. */
  liveInstances: number
}

export const defer: (callback: () => void) => void =
  typeof setImmediate === 'function' ? setImmediate : (callback) => setTimeout(callback, 0)

export class WriteBacks {
  readonly #instances: Instances
  readonly #control: Control
  readonly #files: FileTable<Core>
  readonly #stats: WasmStats
  readonly #fdSyncAsync: ((fd: number) => Promise<number>) | undefined

  constructor(
    instances: Instances,
    control: Control,
    files: FileTable<Core>,
    stats: WasmStats,
    fdSyncAsync: ((fd: number) => Promise<number>) | undefined
  ) {
    this.#instances = instances
    this.#control = control
    this.#files = files
    this.#stats = stats
    this.#fdSyncAsync = fdSyncAsync
  }

  /** Copies the keys (for a window of `length` bytes) and the trusted fingerprints into the instance. */
  install(core: Core, exports: Exports, length = core.length): void {
    const { KEY1, KEY2, CHUNK } = this.#instances.layout
    const memory = new Uint8Array(exports.memory.buffer)
    const keys = this.#control.keys()
    // Key bytes a window needs: its longest chunk, rounded up to 32.
    const n = (Math.min(length, CHUNK) + 31) & ~31
    memory.set(keys.subarray(0, n), KEY1)
    memory.set(keys.subarray(CHUNK, CHUNK + n), KEY2)
    memory.set(core.fps, exports.fingerprints_address())
  }

  /** Copies the instance's fingerprints out, as the trusted ones. */
  adopt(core: Core, exports: Exports): void {
    core.fps.set(new Uint8Array(exports.memory.buffer, exports.fingerprints_address(), core.fps.length))
  }

  /** Adds what the instance read and wrote to the stats. */
  count(exports: Exports): void {
    this.#stats.bytesRead += exports.take_bytes_read()
    this.#stats.bytesWritten += exports.take_bytes_written()
  }

  /** Fresh fingerprints for a core's window of `length` bytes (zeros until an instance fills them). */
  fingerprints(core: Core, length: number): Uint8Array {
    const { CHUNK, FP_BYTES } = this.#instances.layout
    return new Uint8Array(chunkCount(core.offset, length, CHUNK) * FP_BYTES)
  }

  /**
   * Writes back the changed chunks of an 'rw' core that meet window bytes [start, end), carrying them
   * over to the other views of the file that receive write-backs and overlap them; with `durable`,
   * then makes the file durable. Throws on failure: chunks written keep their new fingerprints, the
   * others their old ones, so that a retry writes what is left.
   */
  writeBack(core: Core, start: number, end: number, durable: boolean): void {
    const { exports, key } = core
    if (!core.writes || core.fd < 0) return
    if (exports === null) {
      // Nothing mapped, but create or resize may have sized the file.
      if (durable) this.#control.check(this.#control.syncFd(core.fd))
      return
    }
    const { CHUNK } = this.#instances.layout
    // The write-back writes whole chunks (their part in the window): the views to carry it over to are
    // those overlapping the chunks that meet [start, end), not only that range.
    const from = Math.max(core.offset, Math.floor((core.offset + start) / CHUNK) * CHUNK)
    const to = Math.min(core.offset + core.length, Math.ceil((core.offset + end) / CHUNK) * CHUNK)
    const others = key === null || start >= end ? [] : this.#files.receiversOver(key, core, from, to)
    const installed = new Map<Core, Exports>([[core, exports]])
    const before = core.fps.slice()
    let syncFailed = false
    this.install(core, exports)
    try {
      if (others.length === 0) {
        this.#instances.check(exports.flush(start, end, durable ? 1 : 0), exports)
      } else {
        this.#writeShared(core, exports, others, start, end, installed)
        if (durable) this.#instances.check(exports.flush(0, 0, 1), exports)
      }
    } catch (error) {
      syncFailed = (error as { syscall?: unknown }).syscall === 'fsync'
      throw error
    } finally {
      for (const [each, its] of installed) {
        this.count(its)
        this.adopt(each, its)
      }
      this.#noteWritten(core, before)
      if (syncFailed) this.#unsettle(core, core.unsettled)
    }
    if (durable) core.unsettled.clear()
  }

  /**
   * syncAsync's write-back: the changed chunks meeting [start, end), SLICE bytes at a time, with a turn
   * of the event loop between slices, so that no turn is held longer than hashing and writing one
   * slice takes (the first slice is written at once). A write to the view meanwhile is in this
   * write-back if its chunk's slice comes later, in the next one if not, as with msync. A close
   * meanwhile writes everything itself; a resize meanwhile bounds what is left.
   */
  async inSlices(core: Core, start: number, end: number): Promise<void> {
    let at = start
    while (at < end && !core.released && core.fd >= 0) {
      const stop = Math.min(end, core.length, (Math.floor((core.offset + at) / SLICE) + 1) * SLICE - core.offset)
      if (stop <= at) return
      this.writeBack(core, at, stop, false)
      at = stop
      if (at < end) await new Promise<void>((resolve) => defer(resolve))
    }
  }

  /** syncAsync's durable step: fsync off this thread where the host can, else on a later turn. */
  async fsyncLater(core: Core): Promise<void> {
    const fd = core.fd
    if (fd < 0) return // closed meanwhile: close made the file durable itself
    const settling = new Map(core.unsettled)
    const errno =
      this.#fdSyncAsync !== undefined
        ? await this.#fdSyncAsync(fd)
        : await new Promise<number>((resolve) => defer(() => resolve(core.fd === fd ? -this.#control.syncFd(fd) : 0)))
    // A close meanwhile made the file durable itself, and its fd may be gone or reused.
    if (core.fd !== fd) return
    if (errno !== 0) {
      this.#unsettle(core, settling)
      throw errnoError(errno, 'fsync')
    }
    // Chunks written again while the fsync ran may have missed it.
    for (const [j, pass] of settling) if (core.unsettled.get(j) === pass) core.unsettled.delete(j)
  }

  /** Writes back every live 'rw' view (the exit hook); failures are warnings on stderr. */
  all(reason: string): void {
    for (const core of [...this.#files.writers()]) {
      try {
        this.writeBack(core, 0, core.length, false)
      } catch (error) {
        warn(core, reason, error)
      }
    }
  }

  /** Adds to core.unsettled the chunks a write-back wrote: those whose fingerprint it changed. */
  #noteWritten(core: Core, before: Uint8Array): void {
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
  #unsettle(core: Core, chunks: ReadonlyMap<number, number>): void {
    const { FP_BYTES } = this.#instances.layout
    for (const j of chunks.keys()) {
      if (j * FP_BYTES < core.fps.length) core.fps[j * FP_BYTES] ^= 1
    }
  }

  /** writeBack's chunk-by-chunk path, for a range that other views of the file receiving write-backs overlap. */
  #writeShared(
    core: Core,
    exports: Exports,
    others: Core[],
    start: number,
    end: number,
    installed: Map<Core, Exports>
  ): void {
    const { CHUNK } = this.#instances.layout
    const base = Math.floor(core.offset / CHUNK)
    const first = Math.floor((core.offset + start) / CHUNK) - base
    const last = Math.floor((core.offset + end - 1) / CHUNK) - base
    /** Window offset where chunk j of the core starts (0 for j = 0; the window's length past the end). */
    const startOf = (j: number): number => Math.min(core.length, Math.max(0, (base + j) * CHUNK - core.offset))
    let run = first // the first chunk of the pending run that no other view overlaps
    const writeRun = (upTo: number): void => {
      if (run < upTo) this.#instances.check(exports.flush(startOf(run), startOf(upTo), 0), exports)
    }
    for (let j = first; j <= last; j++) {
      const from = core.offset + startOf(j)
      const to = core.offset + startOf(j + 1)
      const over = others.filter((w) => w.offset < to && w.offset + w.length > from)
      if (over.length === 0) continue
      writeRun(j)
      run = j + 1
      if (exports.chunk_changed(j) === 0) continue
      this.#writeChunk(core, exports, over, base + j, from, to, installed)
    }
    writeRun(last + 1)
  }

  /** Writes file chunk `chunk` of the core ([from, to) of its window, changed) and carries it over to `over`. */
  #writeChunk(
    core: Core,
    exports: Exports,
    over: Core[],
    chunk: number,
    from: number,
    to: number,
    installed: Map<Core, Exports>
  ): void {
    const { CHUNK } = this.#instances.layout
    const indexIn = (w: Core): number => chunk - Math.floor(w.offset / CHUNK)
    const changed = over.map((w) => {
      let its = installed.get(w)
      if (its === undefined) {
        its = w.exports as Exports
        this.install(w, its)
        installed.set(w, its)
      }
      return its.chunk_changed(indexIn(w)) === 1
    })
    const old = changed.includes(true) ? this.#control.fileBytes(core.fd, from, to - from) : null
    const result = exports.write_chunk(indexIn(core))
    if (result < 0) {
      // Part of the chunk may be in the file now, where the other views' merges take it to hold
      // what it held before: put that back (best effort; the write's error is the one reported).
      // Where nothing was read, every such view still holds those bytes, and writes its own.
      if (old !== null) this.#control.putBack(core.fd, from, old)
      else for (const w of over) if (w.writes) (installed.get(w) as Exports).write_chunk(indexIn(w))
      this.#instances.check(result, exports)
    }
    over.forEach((w, i) => {
      const its = installed.get(w) as Exports
      const s = Math.max(from, w.offset)
      const e = Math.min(to, w.offset + w.length)
      const written = bytesAt(core, exports, s, e)
      const theirs = bytesAt(w, its, s, e)
      if (old === null || !changed[i]) {
        theirs.set(written)
        its.rehash_chunk(indexIn(w))
        return
      }
      // It changed this chunk too: keep the bytes it changed (those that differ from the file's
      // old bytes), take the rest.
      for (let k = 0, o = s - from; k < theirs.length; k++, o++) {
        if (theirs[k] === old[o]) theirs[k] = written[k]
      }
    })
  }
}

/** The window bytes [start, end) (file offsets, inside the window) of an instance. */
function bytesAt(core: Core, exports: Exports, start: number, end: number): Uint8Array {
  return new Uint8Array(exports.memory.buffer, core.address + start - core.offset, end - start)
}

/** A write-back nobody waits for failed: the user's terminal is all that can be told. */
export function warn(core: Core, when: string, error: unknown): void {
  const what =
    error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error)
  console.error(`mmapfile: warning: the changes to '${core.path}' could not be written back ${when} (${what})`)
}
