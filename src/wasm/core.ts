// One mapping of the WebAssembly backend: the Mapping the front holds, and the core behind it that
// must outlive the view (the write-back of a view dropped without close, and the exit hook, work from
// the core, so the core refers to neither the view nor its Mapping).

import type { Mapping } from '../front/backend.js'
import type { Exports } from './module.js'

export const EMPTY = new ArrayBuffer(0)

export class Core {
  /** The instance holding the bytes; null for an empty mapping, and once released. */
  exports: Exports | null = null
  /** The window's address in the instance's memory. */
  address = 0
  length = 0
  /** The file's fd in the host: kept by 'rw' mappings only; -1 otherwise, and once closed. */
  fd = -1
  /** The trusted fingerprints of an 'rw' mapping, 16 bytes per chunk of its window. */
  fps: Uint8Array = new Uint8Array(0)
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
  constructor(
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

  get writes(): boolean {
    return this.kind === 'rw'
  }

  get receives(): boolean {
    return this.kind === 'rw' || this.follows
  }
}

/** One mapping: the front reads buffer, byteOffset and byteLength; the core is ours. */
export class WasmMapping implements Mapping {
  buffer: ArrayBuffer = EMPTY
  byteOffset = 0
  byteLength = 0
  constructor(readonly core: Core) {}
}

/** The mapping as this backend's, or a TypeError. */
export function asMapping(mapping: Mapping): WasmMapping {
  if (!(mapping instanceof WasmMapping)) throw new TypeError('not a mapping of the wasm backend')
  return mapping
}

/** Points the mapping at its core's window. */
export function attach(mapping: WasmMapping): WasmMapping {
  const { core } = mapping
  mapping.buffer = core.exports === null ? EMPTY : core.exports.memory.buffer
  mapping.byteOffset = core.exports === null ? 0 : core.address
  mapping.byteLength = core.length
  return mapping
}

/** Chunks of `chunk` bytes covering a window of `length` bytes at file offset `offset`. */
export function chunkCount(offset: number, length: number, chunk: number): number {
  return length === 0 ? 0 : Math.floor((offset + length - 1) / chunk) - Math.floor(offset / chunk) + 1
}
