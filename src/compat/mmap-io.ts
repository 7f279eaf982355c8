// mmap-io's API (ozra/mmap-io 1.1, and its fork @riaskov/mmap-io) over mmapfile, so that a program
// written against `require('mmap-io')` moves over by changing that one line: map() returns a Node
// Buffer over a view made through an mmapfile entry point's backend, registered with it like any other
// view. What mmap-io crashes on, this answers with an error or a safe behaviour (README, "Coming from
// mmap-io"): a write to a PROT_READ mapping stays in memory (a private copy-on-write view), any offset
// works, views are as large as the backend allows, and mappings are released when collected or unmapped.

import { Buffer } from 'node:buffer'
import { frontOf, mappingOf, openBufferOf } from '../front/registry.js'
import type { Advice, Api, Front, Mode } from '../front/api.js'
import { argTypeError, argValueError, describe, rangeError, systemError, withContext } from '../front/errors.js'
import { shared } from '../front/shared.js'

// The values are mmap-io's on Linux, whatever the platform: this module reads them itself.
const PROT = { PROT_NONE: 0, PROT_READ: 1, PROT_WRITE: 2, PROT_EXEC: 4 } as const
const MAP = { MAP_SHARED: 1, MAP_PRIVATE: 2, MAP_NONBLOCK: 65536, MAP_POPULATE: 32768 } as const
const MADV = { MADV_NORMAL: 0, MADV_RANDOM: 1, MADV_SEQUENTIAL: 2, MADV_WILLNEED: 3, MADV_DONTNEED: 4 } as const
const ADVICE: readonly Advice[] = ['normal', 'random', 'sequential', 'willneed', 'dontneed']
const MAX_FD = 2 ** 31 - 1

type Constants = typeof PROT & typeof MAP & typeof MADV

/** PROT_* or'ed together (mmap-io's type; PROT_NONE alone is refused: such a mapping cannot be touched). */
export type MapProtectionFlags = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7
/** MAP_SHARED or MAP_PRIVATE, with MAP_NONBLOCK and MAP_POPULATE (hints) or'ed in. */
export type MapFlags = 1 | 2 | 65536 | 32768 | number
/** MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED or MADV_DONTNEED. */
export type MapAdvise = 0 | 1 | 2 | 3 | 4
export type FileDescriptor = number

/** mmap-io's module, plus unmap. Every function takes map()'s Buffer or any view over part of its bytes. */
export interface MmapIo extends Readonly<Constants> {
  /**
   * Maps `size` bytes of the file open as `fd` from byte `offset` (any offset). PROT_WRITE with
   * MAP_SHARED: a shared, writable mapping ('rw'; `fd` opened read-write); anything else: a private one
   * (writes stay in memory). The window must lie inside the file (a RangeError, where mmap-io maps it
   * and a read past the end kills the process). `fd` stays the caller's: it may be closed at once.
   */
  map(
    size: number,
    protection: MapProtectionFlags,
    flags: MapFlags,
    fd: FileDescriptor,
    offset?: number,
    advise?: MapAdvise
  ): Buffer
  advise(buffer: Buffer, offset: number, length: number, advise: MapAdvise): void
  advise(buffer: Buffer, advise: MapAdvise): void
  /** [pages not in memory, pages in memory] of the buffer's bytes. */
  incore(buffer: Buffer): [number, number]
  /**
   * Makes what was written through a shared writable mapping visible to every reader of the file
   * (blocking_sync false, the default) or durable on the disk (true). `size` 0 or left out: to the end.
   */
  sync(buffer: Buffer, offset?: number, size?: number, blocking_sync?: boolean, invalidate_pages?: boolean): void
  sync(buffer: Buffer, blocking_sync: boolean, invalidate_pages?: boolean): void
  /** Not in mmap-io: writes a shared writable mapping back durably and releases it; the Buffer then has length 0. */
  unmap(buffer: Buffer): void
  readonly PAGESIZE: number
}

/**
 * map()'s Buffers by their ArrayBuffer, so that a part of one (buffer.subarray) finds it: one per realm.
 * Native holds each Buffer for as long as its ArrayBuffer lives (any part of it keeps the mapping, as the
 * addon ties the mapping's life to the ArrayBuffer). Wasm only weakly: its ArrayBuffer is the memory of
 * an instance that the backend holds until the mapping is collected, so a strong entry would keep the
 * Buffer, and with it the mapping, forever.
 */
type MappedBuffers = WeakMap<ArrayBufferLike, Buffer | WeakRef<Buffer>>
function mappedBuffers(): MappedBuffers {
  return shared('mmap-io:buffers', (): MappedBuffers => new WeakMap())
}

function checkInteger(fn: string, name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw argTypeError(fn, `${name} must be a number, got ${describe(value)}`)
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw rangeError(fn, `${name} must be a whole number from 0 to ${max}, got ${value}`)
  }
  return value
}

function checkAdvice(fn: string, value: unknown): Advice {
  if (typeof value !== 'number' || ADVICE[value] === undefined || !Number.isInteger(value)) {
    throw argValueError(
      fn,
      `advise must be one of MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, got ${describe(value)}`
    )
  }
  return ADVICE[value]
}

/** How map()'s protection and flags translate: a shared writable mapping is 'rw', anything else a private view. */
function mappingKind(protection: unknown, flags: unknown): { mode: Mode; shared: boolean; populate: boolean } {
  const prot = checkInteger('map', 'protection', protection)
  if ((prot & ~(PROT.PROT_READ | PROT.PROT_WRITE | PROT.PROT_EXEC)) !== 0) {
    throw argValueError('map', `protection must be PROT_READ, PROT_WRITE and PROT_EXEC or'ed together, got ${prot}`)
  }
  if (prot === PROT.PROT_NONE) {
    throw argValueError('map', 'protection PROT_NONE makes a mapping that cannot be read or written: not supported')
  }
  const bits = checkInteger('map', 'flags', flags)
  const sharing = bits & (MAP.MAP_SHARED | MAP.MAP_PRIVATE)
  if (
    (bits & ~(MAP.MAP_SHARED | MAP.MAP_PRIVATE | MAP.MAP_NONBLOCK | MAP.MAP_POPULATE)) !== 0 ||
    sharing === 0 ||
    sharing === (MAP.MAP_SHARED | MAP.MAP_PRIVATE)
  ) {
    throw argValueError(
      'map',
      `flags must be MAP_SHARED or MAP_PRIVATE, with MAP_NONBLOCK or MAP_POPULATE or'ed in, got ${bits}`
    )
  }
  const shared = sharing === MAP.MAP_SHARED
  return {
    mode: shared && (prot & PROT.PROT_WRITE) !== 0 ? 'rw' : 'r',
    shared,
    populate: (bits & MAP.MAP_POPULATE) !== 0
  }
}

/** The Buffer map() made that `buffer` is (part of), and where `buffer` starts in it. */
function viewOf(buffers: MappedBuffers, fn: string, buffer: unknown): { view: Buffer; start: number } {
  const held = ArrayBuffer.isView(buffer) ? buffers.get(buffer.buffer) : undefined
  const view = held instanceof WeakRef ? held.deref() : held
  if (view === undefined) {
    throw argTypeError(
      fn,
      `buffer must be a Buffer from map(), or a part of one while that Buffer lives, got ${describe(buffer)}`
    )
  }
  const part = buffer as ArrayBufferView
  const start = part.byteOffset - view.byteOffset
  // wasm: the ArrayBuffer is the instance's whole memory, of which the mapping is a part.
  if (start < 0 || start + part.byteLength > view.byteLength) throw rangeError(fn, 'buffer is outside the mapped bytes')
  return { view, start }
}

function adviseRange(front: Front, fn: string, view: Buffer, offset: number, length: number, advice: Advice): void {
  const { mapping, failed } = mappingOf(front, fn, view)
  try {
    front.backend.advise(mapping, advice, offset, length)
  } catch (error) {
    throw failed(error)
  }
}

/**
 * A range of `buffer` as mmap-io's advise and sync take it: bytes from its start, cut at its end (mmap-io
 * passes it to the system, which takes the rest of the last page, e.g. sync(buffer, 0, PAGESIZE) of a
 * smaller buffer).
 */
function range(
  fn: string,
  buffer: ArrayBufferView,
  offset: unknown,
  length: unknown
): { offset: number; length: number } {
  const from = Math.min(checkInteger(fn, 'offset', offset), buffer.byteLength)
  return { offset: from, length: Math.min(checkInteger(fn, 'length', length), buffer.byteLength - from) }
}

/**
 * mmap-io's API over the backend of `api`, an mmapfile entry point of this copy of mmapfile (mmapfile,
 * mmapfile/native or mmapfile/wasm): its Buffers are views of that backend, which every entry point of
 * it takes (sync, close, info, ...).
 */
export function createMmapIo(api: Pick<Api, 'backend' | 'sync' | 'close' | 'PAGE_SIZE'>): MmapIo {
  const front: Front = frontOf(api.backend, () => {
    throw new Error(`mmapfile/mmap-io: no ${String(api.backend)} backend was loaded by this copy of mmapfile`)
  })
  const buffers = mappedBuffers()
  const hold = front.backend.name === 'native' ? (buffer: Buffer) => buffer : (buffer: Buffer) => new WeakRef(buffer)

  function map(
    size: unknown,
    protection: unknown,
    flags: unknown,
    fd: unknown,
    offset: unknown = 0,
    advise: unknown = MADV.MADV_NORMAL
  ): Buffer {
    const length = checkInteger('map', 'size', size)
    const { mode, shared, populate } = mappingKind(protection, flags)
    const descriptor = checkInteger('map', 'fd', fd, MAX_FD)
    const from = checkInteger('map', 'offset', offset)
    const advice = checkAdvice('map', advise)
    // What mmap(2) answers for a length of 0.
    if (length === 0) throw withContext(systemError('EINVAL', 'mmap', 'invalid argument'), 'map', null, descriptor)
    // A shared read-only mapping follows the file, as mmap-io's shows what its writers write.
    const buffer = openBufferOf(
      front,
      'map',
      descriptor,
      mode,
      from,
      length,
      shared && mode === 'r',
      (arrayBuffer, byteOffset, byteLength) => Buffer.from(arrayBuffer, byteOffset, byteLength)
    ) as Buffer
    buffers.set(buffer.buffer, hold(buffer))
    try {
      if (advice !== 'normal') adviseRange(front, 'map', buffer, 0, length, advice)
      if (populate) adviseRange(front, 'map', buffer, 0, length, 'willneed')
    } catch (error) {
      api.close(buffer as unknown as Uint8Array) // nothing was written through it: this writes nothing back
      throw error
    }
    return buffer
  }

  function advise(buffer: Buffer, ...rest: unknown[]): void {
    if (rest.length !== 1 && rest.length !== 3) {
      throw argTypeError('advise', 'advise takes (buffer, advise) or (buffer, offset, length, advise)')
    }
    const { view, start } = viewOf(buffers, 'advise', buffer)
    const advice = checkAdvice('advise', rest[rest.length - 1])
    const { offset, length } =
      rest.length === 1 ? { offset: 0, length: buffer.byteLength } : range('advise', buffer, rest[0], rest[1])
    adviseRange(front, 'advise', view, start + offset, length, advice)
  }

  function sync(buffer: Buffer, a?: unknown, b?: unknown, c?: unknown, _invalidate?: unknown): void {
    const { view, start } = viewOf(buffers, 'sync', buffer)
    // mmap-io: sync(buffer, blocking[, invalidate]) or sync(buffer[, offset[, size[, blocking[, invalidate]]]]),
    // where a size of 0 means the rest of the buffer. Invalidation has no meaning here: every view of
    // the file in this process shows the file's bytes once synced.
    const blocking = typeof a === 'boolean' ? a : (c ?? false)
    if (typeof blocking !== 'boolean')
      throw argTypeError('sync', `blocking_sync must be a boolean, got ${describe(blocking)}`)
    const offset = typeof a === 'boolean' ? 0 : checkInteger('sync', 'offset', a ?? 0)
    const size = typeof a === 'boolean' || b === undefined || b === 0 ? Math.max(0, buffer.byteLength - offset) : b
    const part = range('sync', buffer, offset, size)
    api.sync(view as unknown as Uint8Array, { offset: start + part.offset, length: part.length, durable: blocking })
  }

  function incore(buffer: Buffer): [number, number] {
    const { view, start } = viewOf(buffers, 'incore', buffer)
    const { mapping, failed } = mappingOf(front, 'incore', view)
    try {
      const [resident, pages] = front.backend.incore(mapping, start, buffer.byteLength)
      return [pages - resident, resident]
    } catch (error) {
      throw failed(error)
    }
  }

  function unmap(buffer: Buffer): void {
    api.close(viewOf(buffers, 'unmap', buffer).view as unknown as Uint8Array)
  }

  return Object.freeze({
    map,
    advise,
    sync,
    incore,
    unmap,
    PAGESIZE: api.PAGE_SIZE,
    ...PROT,
    ...MAP,
    ...MADV
  }) as MmapIo
}
