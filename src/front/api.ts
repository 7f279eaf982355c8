// The public API over one backend: argument checks, defaults, typed views and the registry of open
// views. Every entry point (mmapfile, mmapfile/native, mmapfile/wasm) is `createApi` over the front
// of the backend it chose: one front per backend per realm (src/front/shared.ts), whichever copy of the
// package (ESM or CommonJS) and entry point made it, so that a view made by one is known to all.

import type { Advice, Backend, Capabilities, Mapping } from './backend.js'
import { argTypeError, argValueError, closedError, describe, rangeError, systemError, withContext } from './errors.js'
import { checkPath } from './paths.js'
import type { PathRules } from './paths.js'
import { shared } from './shared.js'
import { isStructType, StructArray, struct } from './struct.js'
import type { Fields, StructType } from './struct.js'

export type TypedArrayConstructor =
  | Int8ArrayConstructor | Uint8ArrayConstructor | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor | Uint16ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor
  | Float32ArrayConstructor | Float64ArrayConstructor
  | BigInt64ArrayConstructor | BigUint64ArrayConstructor

/** What a view can be made of: a typed-array constructor or a struct type from `struct()`. */
export type ViewType = TypedArrayConstructor | StructType

/** The view a mapping function returns for `type`. */
export type ViewOf<T extends ViewType> =
  T extends TypedArrayConstructor ? InstanceType<T>
  : T extends StructType<infer F> ? StructArray<F>
  : never

/** Any typed array over any buffer: since TypeScript 5.7 a plain `Int32Array` is `Int32Array<ArrayBufferLike>`. */
export type TypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array

/** What the mapping functions return, and what the other functions take. */
export type View = TypedArray | StructArray<Fields>

export type Mode = 'r' | 'rw'
export type { Advice, Capabilities }

export interface OpenOptions {
  /** byte offset of the window in the file, any alignment (default 0) */
  offset?: number
  /** bytes in the window (default: the rest of the file) */
  length?: number
  /**
   * 'rw' only: do not reserve disk space for the window's holes (default false). Native reserves the
   * blocks of a writable window when it is mapped, so that a full disk is an ENOSPC error there and
   * not a SIGBUS that kills the process when a page is first written; with `sparse: true` a full disk
   * kills the process on the first write to a hole. For deliberately sparse files.
   */
  sparse?: boolean
}

export interface CreateOptions {
  /** Do not reserve disk space for the file (default false): see OpenOptions.sparse. */
  sparse?: boolean
}

export interface SyncOptions {
  /** bytes from the start of the view (default 0) */
  offset?: number
  /** bytes to sync (default: to the end of the view) */
  length?: number
  /**
   * true (default): the changes are on the disk when sync returns (or syncAsync resolves). false: they
   * are visible to every other reader of the file (other processes, plain reads) without waiting for
   * the disk, and a crash of the machine may still lose them.
   */
  durable?: boolean
}

/** What open takes in place of a path: an open file descriptor, or an object holding one (node:fs/promises' FileHandle). */
export type Descriptor = number | { readonly fd: number }

export interface ViewInfo {
  /** the absolute path; null for malloc and for a view of a descriptor */
  path: string | null
  mode: Mode
  offset: number
  byteLength: number
  backend: 'native' | 'wasm'
  /** only for a view made from a descriptor or FileHandle: the descriptor's number */
  fd?: number
}

export type { PathRules } from './paths.js'

export interface Api {
  create<T extends ViewType = Uint8ArrayConstructor>(path: string | URL, count: number, type?: T, data?: ArrayBufferView, options?: CreateOptions): ViewOf<T>
  open<T extends ViewType = Uint8ArrayConstructor>(path: string | URL | Descriptor, type?: T, mode?: Mode, options?: OpenOptions): ViewOf<T>
  close(view: View): void
  sync(view: View, options?: SyncOptions): void
  syncAsync(view: View, options?: SyncOptions): Promise<void>
  malloc<T extends ViewType = Uint8ArrayConstructor>(count: number, type?: T): ViewOf<T>
  free(view: View): void
  gccreate<T extends ViewType = Uint8ArrayConstructor>(path: string | URL, count: number, type?: T, data?: ArrayBufferView, options?: CreateOptions): ViewOf<T>
  gcopen<T extends ViewType = Uint8ArrayConstructor>(path: string | URL | Descriptor, type?: T, mode?: Mode, options?: OpenOptions): ViewOf<T>
  gcmalloc<T extends ViewType = Uint8ArrayConstructor>(count: number, type?: T): ViewOf<T>
  resize<V extends View>(view: V, count: number): V
  advise(view: View, advice: Advice): void
  info(view: View): ViewInfo
  struct: typeof struct
  readonly PAGE_SIZE: number
  readonly backend: 'native' | 'wasm'
  readonly backendError: Error | null
  readonly capabilities: Capabilities
}

const TYPED_ARRAYS: ReadonlySet<unknown> = new Set<unknown>([
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array
])

const ADVICE: ReadonlySet<unknown> = new Set<unknown>(['normal', 'sequential', 'random', 'willneed', 'dontneed'])

/** What the front remembers of one open mapping. Shared by the views a resize chain made. */
interface Open {
  mapping: Mapping
  readonly kind: 'file' | 'memory'
  readonly mode: Mode
  readonly path: string | null
  /** the descriptor a view of a descriptor was made from (it has no path) */
  readonly fd?: number
  readonly offset: number
  readonly type: ViewType
}

/** What the front remembers of a closed view: only what it was, so that free can tell. */
interface Closed {
  readonly closed: true
  readonly kind: Open['kind']
}
const CLOSED: { readonly [K in Open['kind']]: Closed } = {
  file: Object.freeze({ closed: true, kind: 'file' }),
  memory: Object.freeze({ closed: true, kind: 'memory' })
}

/** Every view handed out, open or closed. */
type Registry = WeakMap<object, Open | Closed>

/** One backend and the registry of its views: one per backend per realm (src/front/shared.ts). */
export interface Front {
  readonly backend: Backend
  readonly views: Registry
}

/** The realm's front for the backend named `name`, loading the backend the first time it is asked for. */
export function frontOf(name: Backend['name'], load: () => Backend): Front {
  return shared(`front:${name}`, () => ({ backend: load(), views: new WeakMap() }))
}

function isClosed(entry: Open | Closed): entry is Closed {
  return 'closed' in entry
}

/** The open entry of a view of the registry; a TypeError for what is not one, or is closed. */
function lookUpIn(views: Registry, fn: string, view: unknown): Open {
  const open = typeof view === 'object' && view !== null ? views.get(view) : undefined
  if (open === undefined) throw argTypeError(fn, `expected a view made by mmapfile, got ${describe(view)}`)
  if (isClosed(open)) throw closedError(fn)
  return open
}

/** The error of a call on an open view, naming its file (or descriptor). */
function failed(error: unknown, fn: string, open: Open): unknown {
  return withContext(error, fn, open.path, open.fd ?? null)
}

const MAX_FD = 2 ** 31 - 1

/**
 * The descriptor that open's first argument names, or null if it names a path: a number (any integer
 * from 0 to 2^31 - 1, as node:fs takes them), or an object with a numeric `fd` and a `close` method (a
 * node:fs/promises FileHandle, whose fd reads -1 once it is closed: EBADF).
 */
function descriptorOf(fn: string, source: unknown): number | null {
  let fd: unknown = source
  if (typeof source === 'object' && source !== null && !(source instanceof URL)) {
    const handle = source as { fd?: unknown, close?: unknown }
    if (typeof handle.fd !== 'number' || typeof handle.close !== 'function') return null
    fd = handle.fd
    if (fd === -1) throw withContext(systemError('EBADF', 'open', 'bad file descriptor'), fn, null, -1)
  } else if (typeof source !== 'number') {
    return null
  }
  if (!Number.isInteger(fd) || (fd as number) < 0 || (fd as number) > MAX_FD) {
    throw rangeError(fn, `a file descriptor must be an integer from 0 to ${MAX_FD}, got ${String(fd)}`)
  }
  return fd as number
}

function checkType(fn: string, type: unknown): ViewType {
  if (type === undefined) return Uint8Array
  if (TYPED_ARRAYS.has(type) || isStructType(type)) return type as ViewType
  throw argTypeError(fn, `type must be a typed-array constructor or a struct type from mmapfile.struct(), got ${describe(type)}`)
}

function checkCount(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number') throw argTypeError(fn, `${name} must be a number, got ${describe(value)}`)
  if (!Number.isSafeInteger(value) || value < 0) {
    throw rangeError(fn, `${name} must be a whole number >= 0, got ${value}`)
  }
  return value
}

function optionalCount(fn: string, name: string, value: unknown): number | null {
  return value === undefined ? null : checkCount(fn, name, value)
}

function checkFlag(fn: string, name: string, value: unknown): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw argTypeError(fn, `${name} must be a boolean, got ${describe(value)}`)
  return value
}

function optionsObject(fn: string, options: unknown): Record<string, unknown> {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object') throw argTypeError(fn, `options must be an object, got ${describe(options)}`)
  return options as Record<string, unknown>
}

function checkOptions(fn: string, options: unknown): { offset: number | null; length: number | null; sparse: boolean } {
  const { offset, length, sparse } = optionsObject(fn, options)
  return {
    offset: optionalCount(fn, 'options.offset', offset),
    length: optionalCount(fn, 'options.length', length),
    sparse: checkFlag(fn, 'options.sparse', sparse)
  }
}

function elementSize(type: ViewType): number {
  return type.BYTES_PER_ELEMENT
}

function makeView(type: ViewType, mapping: Mapping): View {
  const count = Math.floor(mapping.byteLength / elementSize(type))
  if (isStructType(type)) return new StructArray(type, mapping.buffer, mapping.byteOffset, count)
  return new type(mapping.buffer, mapping.byteOffset, count)
}

export function createApi(front: Front, backendError: Error | null, paths: PathRules): Api {
  const { backend, views } = front
  const capabilities = Object.freeze({ ...backend.capabilities })

  function lookUp(fn: string, view: unknown): Open {
    return lookUpIn(views, fn, view)
  }

  function register(open: Open): View {
    const view = makeView(open.type, open.mapping)
    views.set(view, open)
    return view
  }

  function checkFits(fn: string, byteLength: number): void {
    if (byteLength > capabilities.maxViewBytes) {
      const advice = fn.endsWith('open') ? '; map a window with options.offset and options.length' : ''
      throw rangeError(fn, `${byteLength} bytes is larger than the largest view (${capabilities.maxViewBytes} bytes)${advice}`)
    }
  }

  function mapFile(fn: string, path: unknown, type: ViewType, map: (absolute: string) => Mapping,
    mode: Mode, offset: number): View {
    const { given, absolute } = checkPath(fn, path, paths)
    let mapping: Mapping
    try {
      mapping = map(absolute)
    } catch (error) {
      throw withContext(error, fn, given)
    }
    return register({ mapping, kind: 'file', mode, path: absolute, offset, type })
  }

  function createWith(fn: string, autoClose: boolean, path: unknown, count: unknown, type: unknown, data: unknown,
    options: unknown): View {
    const viewType = checkType(fn, type)
    const byteLength = checkCount(fn, 'count', count) * elementSize(viewType)
    if (data !== undefined && !ArrayBuffer.isView(data)) {
      throw argTypeError(fn, `data must be a typed array or DataView, got ${describe(data)}`)
    }
    if (data !== undefined && data.byteLength > byteLength) {
      throw rangeError(fn, `data is ${data.byteLength} bytes, longer than the file's ${byteLength}`)
    }
    const sparse = checkFlag(fn, 'options.sparse', optionsObject(fn, options).sparse)
    checkFits(fn, byteLength)
    // The source bytes are taken before the file is touched: data over a detached buffer (a closed
    // view, say) must fail here, not after the file was created.
    let source: Uint8Array | null = null
    try {
      if (data !== undefined) source = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    } catch {
      throw argTypeError(fn, 'data is over a detached buffer (a closed view?)')
    }
    return mapFile(fn, path, viewType, (absolute) => {
      const mapping = backend.create(absolute, byteLength, { autoClose, sparse })
      if (source !== null) new Uint8Array(mapping.buffer, mapping.byteOffset, mapping.byteLength).set(source)
      return mapping
    }, 'rw', 0)
  }

  function openWith(fn: string, autoClose: boolean, path: unknown, type: unknown, mode: unknown, options: unknown): View {
    const viewType = checkType(fn, type)
    if (mode !== undefined && mode !== 'r' && mode !== 'rw') {
      throw argValueError(fn, `mode must be 'r' or 'rw', got ${describe(mode)}`)
    }
    const { offset, length, sparse } = checkOptions(fn, options)
    const checkedMode: Mode = mode ?? 'r'
    if (length !== null) checkFits(fn, length)
    const fd = descriptorOf(fn, path)
    if (fd !== null) {
      let mapping: Mapping
      try {
        mapping = backend.openFd(fd, checkedMode, offset ?? 0, length, { autoClose, sparse })
      } catch (error) {
        throw withContext(error, fn, null, fd)
      }
      return register({ mapping, kind: 'file', mode: checkedMode, path: null, fd, offset: offset ?? 0, type: viewType })
    }
    if (typeof path !== 'string' && !(path instanceof URL)) {
      throw argTypeError(fn, `path must be a string, a file: URL, a file descriptor or a FileHandle, got ${describe(path)}`)
    }
    return mapFile(fn, path, viewType,
      (absolute) => backend.open(absolute, checkedMode, offset ?? 0, length, { autoClose, sparse }),
      checkedMode, offset ?? 0)
  }

  function mallocWith(fn: string, autoClose: boolean, count: unknown, type: unknown): View {
    const viewType = checkType(fn, type)
    const byteLength = checkCount(fn, 'count', count) * elementSize(viewType)
    checkFits(fn, byteLength)
    let mapping: Mapping
    try {
      mapping = backend.alloc(byteLength, { autoClose, sparse: false })
    } catch (error) {
      throw withContext(error, fn, null)
    }
    return register({ mapping, kind: 'memory', mode: 'rw', path: null, offset: 0, type: viewType })
  }

  function release(fn: string, view: unknown, kinds: 'any' | 'memory'): void {
    const open = typeof view === 'object' && view !== null ? views.get(view) : undefined
    if (open === undefined) throw argTypeError(fn, `expected a view made by mmapfile, got ${describe(view)}`)
    if (kinds === 'memory' && open.kind !== 'memory') {
      throw argTypeError(fn, 'free releases malloc views; use close for a file view')
    }
    if (isClosed(open)) return
    try {
      backend.close(open.mapping)
    } catch (error) {
      // Writing back failed: the backend kept the mapping whole and the view stays open, so that a
      // later close can retry once the cause is gone.
      throw failed(error, fn, open)
    }
    views.set(view as object, CLOSED[open.kind])
  }

  function syncRange(fn: string, open: Open, options: unknown): { offset: number; length: number; durable: boolean } {
    const { offset, length } = checkOptions(fn, options)
    const { durable } = optionsObject(fn, options)
    if (durable !== undefined && typeof durable !== 'boolean') {
      throw argTypeError(fn, `options.durable must be a boolean, got ${describe(durable)}`)
    }
    const byteLength = open.mapping.byteLength
    const from = offset ?? 0
    if (from > byteLength) throw rangeError(fn, `options.offset ${from} is beyond the view's ${byteLength} bytes`)
    const count = length ?? byteLength - from
    if (from + count > byteLength) {
      throw rangeError(fn, `options.offset + options.length (${from + count}) is beyond the view's ${byteLength} bytes`)
    }
    return { offset: from, length: count, durable: durable ?? true }
  }

  const api: Api = {
    create: (path, count, type, data, options) => createWith('create', false, path, count, type, data, options) as never,
    gccreate: (path, count, type, data, options) => createWith('gccreate', true, path, count, type, data, options) as never,
    open: (path, type, mode, options) => openWith('open', false, path, type, mode, options) as never,
    gcopen: (path, type, mode, options) => openWith('gcopen', true, path, type, mode, options) as never,
    malloc: (count, type) => mallocWith('malloc', false, count, type) as never,
    gcmalloc: (count, type) => mallocWith('gcmalloc', true, count, type) as never,

    close(view) {
      release('close', view, 'any')
    },

    free(view) {
      release('free', view, 'memory')
    },

    sync(view, options) {
      const open = lookUp('sync', view)
      const { offset, length, durable } = syncRange('sync', open, options)
      if (open.mode === 'r' || open.kind === 'memory' || length === 0) return
      try {
        backend.sync(open.mapping, offset, length, durable)
      } catch (error) {
        throw failed(error, 'sync', open)
      }
    },

    async syncAsync(view, options) {
      const open = lookUp('syncAsync', view)
      const { offset, length, durable } = syncRange('syncAsync', open, options)
      if (open.mode === 'r' || open.kind === 'memory' || length === 0) return
      try {
        await backend.syncAsync(open.mapping, offset, length, durable)
      } catch (error) {
        throw failed(error, 'syncAsync', open)
      }
    },

    resize(view, count) {
      const open = lookUp('resize', view)
      if (open.mode === 'r') throw argTypeError('resize', "an 'r' view cannot be resized; open the file 'rw'")
      const byteLength = checkCount('resize', 'count', count) * elementSize(open.type)
      checkFits('resize', byteLength)
      try {
        open.mapping = backend.resize(open.mapping, byteLength)
      } catch (error) {
        throw failed(error, 'resize', open)
      }
      views.set(view, CLOSED[open.kind])
      return register(open) as typeof view
    },

    advise(view, advice) {
      const open = lookUp('advise', view)
      if (!ADVICE.has(advice)) {
        throw argValueError('advise', `advice must be one of ${[...ADVICE].join(' ')}, got ${describe(advice)}`)
      }
      try {
        backend.advise(open.mapping, advice)
      } catch (error) {
        throw failed(error, 'advise', open)
      }
    },

    info(view) {
      const open = lookUp('info', view)
      const info: ViewInfo = { path: open.path, mode: open.mode, offset: open.offset, byteLength: open.mapping.byteLength, backend: backend.name }
      if (open.fd !== undefined) info.fd = open.fd
      return info
    },

    struct,
    PAGE_SIZE: backend.pageSize,
    backend: backend.name,
    backendError,
    capabilities
  }
  return Object.freeze(api)
}

// ---- for mmapfile/mmap-io (src/compat/mmap-io.ts): views that are Node Buffers, made from descriptors

/**
 * Maps `length` bytes at `offset` of the descriptor `fd` and returns the view `make` makes over them
 * (mmapfile/mmap-io: a Node Buffer), registered with the front like any other view, so that every call
 * of the API takes it. Closed once nothing refers to the bytes any more (native; wasm: to the view),
 * as gcopen does. `follow`: MapOptions.follow.
 */
export function openBufferOf(front: Front, fn: string, fd: number, mode: Mode, offset: number, length: number,
  follow: boolean, make: (buffer: ArrayBuffer, byteOffset: number, byteLength: number) => Uint8Array): Uint8Array {
  const { backend, views } = front
  let mapping: Mapping
  try {
    mapping = backend.openFd(fd, mode, offset, length, { autoClose: true, sparse: false, follow })
  } catch (error) {
    throw withContext(error, fn, null, fd)
  }
  let view: Uint8Array
  try {
    view = make(mapping.buffer, mapping.byteOffset, mapping.byteLength)
  } catch (error) {
    backend.close(mapping) // nothing was written through it: this writes nothing back
    throw error
  }
  views.set(view, { mapping, kind: 'file', mode, path: null, fd, offset, type: Uint8Array })
  return view
}

/** The mapping behind an open view of the front (a TypeError otherwise), and the error of a call on it. */
export function mappingOf(front: Front, fn: string, view: unknown): { mapping: Mapping, failed: (error: unknown) => unknown } {
  const open = lookUpIn(front.views, fn, view)
  return { mapping: open.mapping, failed: (error) => failed(error, fn, open) }
}
