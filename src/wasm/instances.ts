// Instances of the mmapfile module: made, checked, pooled. One instance per mapping (src/wasm/backend.ts
// says why), and one more, the control instance, that opens, sizes and closes files, draws the
// fingerprint keys and reads and writes single chunks: its memory is never handed out.

import { check, layoutOf, syscallNames } from './module.js'
import type { Exports, Layout, WasiHost } from './module.js'

/** Instances of closed mappings kept for reuse, at most, and only those whose memory is this small:
 *  making an instance and its memory is most of what a small open costs. */
const POOL_INSTANCES = 32
const POOL_MAX_BYTES = 2 << 20
/** The pool is emptied (its memories left to the collector) once unused for this long. */
const POOL_IDLE_MS = 1000

export class Instances {
  /** The module's numbers, read from the control instance's exports. */
  readonly layout: Layout
  /** The control instance. */
  readonly control: Exports
  readonly #names: readonly string[]
  // Instances whose mapping was closed (memory detached, so the views read empty) and that may map
  // again: reserve() clears what the last mapping left in memory.
  readonly #pool: Exports[] = []
  #used = 0
  #timer: ReturnType<typeof setTimeout> | null = null

  constructor(
    readonly module: WebAssembly.Module,
    readonly wasi: WasiHost
  ) {
    const instance = this.#instantiate()
    this.layout = layoutOf(instance)
    this.#names = syscallNames(this.layout)
    this.control = instance.exports as unknown as Exports
  }

  /** Throws the Node-style error for a negative result of `exports`; returns the result otherwise. */
  check(result: number, exports: Exports): number {
    return check(result, exports, this.#names)
  }

  /** An instance for a new mapping: a pooled one, or a new one. */
  take(): Exports {
    const pooled = this.#pool.pop()
    if (pooled === undefined) return this.#instantiate().exports as unknown as Exports
    this.#used = Date.now()
    return pooled
  }

  /** Keeps a detached instance for the next mapping, if it is small and the pool has room. */
  recycle(exports: Exports): void {
    if (this.#pool.length >= POOL_INSTANCES || exports.memory.buffer.byteLength > POOL_MAX_BYTES) return
    this.#pool.push(exports)
    this.#used = Date.now()
    this.#drainIn(POOL_IDLE_MS)
  }

  #instantiate(): WebAssembly.Instance {
    let memory: WebAssembly.Memory | null = null
    const imports = this.wasi(() => memory as WebAssembly.Memory)
    let instance: WebAssembly.Instance
    try {
      instance = new WebAssembly.Instance(this.module, imports)
    } catch (error) {
      // V8 throws a RangeError when it cannot reserve another memory (about 10 GiB of address space each).
      if (!(error instanceof RangeError)) throw error
      throw Object.assign(new Error('not enough memory'), { code: 'ENOMEM', syscall: 'mmap' })
    }
    const exports = instance.exports as unknown as Exports
    memory = exports.memory
    exports._initialize?.()
    return instance
  }

  #drainIn(ms: number): void {
    if (this.#timer !== null) return
    this.#timer = setTimeout(() => this.#drainWhenIdle(), ms)
    // Node, Bun, Deno: the pool must not keep the process alive.
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  #drainWhenIdle(): void {
    this.#timer = null
    if (this.#pool.length === 0) return
    const idle = Date.now() - this.#used
    if (idle >= POOL_IDLE_MS) this.#pool.length = 0
    else this.#drainIn(POOL_IDLE_MS - idle)
  }
}
