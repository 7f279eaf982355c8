// The control instance's work (src/wasm/instances.ts): files opened, identified, sized, closed and
// removed by path or fd, the fingerprint keys, and single chunks read and written for the merges of
// src/wasm/write-back.ts. Its memory is never handed out, so what it holds stays as it left it.

import { FileTable } from './files.js'
import type { Instances } from './instances.js'
import { errnoError } from './module.js'
import type { Exports } from './module.js'

const encoder = new TextEncoder()

export class Control {
  readonly #instances: Instances
  readonly #exports: Exports
  /** Both fingerprint keys, drawn on first use: [KEY1 bytes | KEY2 bytes]. */
  #keys: Uint8Array | null = null

  constructor(instances: Instances) {
    this.#instances = instances
    this.#exports = instances.control
  }

  /** The largest window the module maps. */
  get maxWindow(): number {
    return this.#exports.max_window()
  }

  /** Throws the Node-style error for a negative result of the control instance; returns it otherwise. */
  check(result: number): number {
    return this.#instances.check(result, this.#exports)
  }

  /** The keys, drawn with the first writable mapping (a random_get that fails is retried then). */
  keys(): Uint8Array {
    if (this.#keys === null) {
      const { KEY1, CHUNK } = this.#instances.layout
      this.check(this.#exports.draw_keys())
      this.#keys = new Uint8Array(this.#exports.memory.buffer, KEY1, 2 * CHUNK).slice()
    }
    return this.#keys
  }

  /** Opens the absolute path as open_path's `how` says; the fd, or the error's negative errno (unchecked). */
  openPath(path: string, how: number): number {
    return this.#exports.open_path(this.#putPath(path), how)
  }

  unlink(path: string): void {
    this.#exports.unlink_path(this.#putPath(path))
  }

  /** The size of the file open as fd, and its key in the table. */
  identify(fd: number): { size: number; key: string } {
    const size = this.check(this.#exports.file_size(fd))
    const stat = new Uint32Array(this.#exports.memory.buffer, this.#exports.filestat_buffer(), 4)
    return { size, key: FileTable.keyOf(stat[0], stat[1], stat[2], stat[3]) }
  }

  /** Sets the size of the file open as fd; 0 or -errno (unchecked). */
  setSize(fd: number, size: number): number {
    return this.#exports.set_file_size(fd, size)
  }

  syncFd(fd: number): number {
    return this.#exports.sync_fd(fd)
  }

  close(fd: number): number {
    return this.#exports.close_fd(fd)
  }

  /** Closes fd, for cleanup after another error: a failure here would hide the first one. */
  closeQuietly(fd: number): void {
    if (fd >= 0) this.#exports.close_fd(fd)
  }

  /** Reads what the file holds at [start, start + length) (length <= CHUNK), zeros past its end. */
  fileBytes(fd: number, start: number, length: number): Uint8Array {
    const got = this.check(this.#exports.read_at(fd, start, length))
    const out = new Uint8Array(length)
    out.set(new Uint8Array(this.#exports.memory.buffer, this.#instances.layout.WINDOW, got))
    return out
  }

  /** Writes `bytes` (CHUNK at most) to fd at `start`, after fileBytes has made room for them; 0 or -errno. */
  putBack(fd: number, start: number, bytes: Uint8Array): number {
    new Uint8Array(this.#exports.memory.buffer, this.#instances.layout.WINDOW, bytes.length).set(bytes)
    return this.#exports.write_at(fd, start, bytes.length)
  }

  /**
   * Sizes a file that create has opened (existing, `size` bytes, or new) to `byteLength` zeros. An
   * existing file keeps its bytes until they can be let go: it is grown first, so that a size it cannot
   * take fails while they are whole (and the growth is undone if emptying it then fails); once emptied,
   * a failure to size it leaves it empty, and the error says so.
   */
  sizeCreated(fd: number, size: number, byteLength: number): void {
    const grown = size > 0 && byteLength > size
    if (grown) this.check(this.setSize(fd, byteLength))
    if (size > 0) {
      const result = this.setSize(fd, 0)
      if (result < 0) {
        const error = errnoError(-result, 'ftruncate')
        if (grown) this.setSize(fd, size)
        throw error
      }
    }
    const result = this.setSize(fd, byteLength)
    if (result < 0) throw Object.assign(errnoError(-result, 'ftruncate'), { emptied: size > 0 })
  }

  /** Writes the path into the control instance's path buffer; its length in bytes. */
  #putPath(path: string): number {
    const buffer = new Uint8Array(
      this.#exports.memory.buffer,
      this.#exports.path_buffer(),
      this.#instances.layout.PATH_BYTES
    )
    const { read, written } = encoder.encodeInto(path, buffer)
    if (read < path.length) throw Object.assign(new Error('name too long'), { code: 'ENAMETOOLONG', syscall: 'open' })
    return written
  }
}
