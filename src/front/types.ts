// The public API's types: what the entries export, what createApi (src/front/api.ts) implements.

import type { Advice, Capabilities } from './backend.js'
import type { StructArray, StructType, Fields, struct } from './struct.js'
import type { ERR_MMAPFILE_CLOSED } from './errors.js'

export type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor

/** What a view can be made of: a typed-array constructor or a struct type from `struct()`. */
export type ViewType = TypedArrayConstructor | StructType

declare global {
  interface SymbolConstructor {
    /**
     * Explicit Resource Management (TypeScript 5.2+ `using`). Declared here as well, as @types/node and
     * lib esnext.disposable do, so that these types also compile with a lib that lacks it.
     */
    readonly dispose: unique symbol
  }
}

/** What a struct view has besides its records: `using v = open(path, Point)` closes it at the end of the scope. */
export interface DisposableView {
  /** `close(view)`: a no-op once the view is closed (or freed). */
  [Symbol.dispose](): void
}

/**
 * What `closing(view)` returns: `using c = closing(open(path, Float64Array))` closes `c.view` at the end
 * of the scope. (Typed-array views have no [Symbol.dispose] of their own: as an own property it slowed
 * functions that see both views and plain typed arrays.)
 */
export interface Closing<V extends View> {
  readonly view: V
  /** `close(view)`: a no-op once the view is closed (or freed). */
  [Symbol.dispose](): void
}

/** The view a mapping function returns for `type`. */
export type ViewOf<T extends ViewType> = T extends TypedArrayConstructor
  ? InstanceType<T>
  : T extends StructType<infer F>
    ? StructArray<F> & DisposableView
    : never

/** Any typed array over any buffer: since TypeScript 5.7 a plain `Int32Array` is `Int32Array<ArrayBufferLike>`. */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array

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
export type Descriptor = number | { readonly fd: number; close(): unknown }

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

export interface Api {
  create<T extends ViewType = Uint8ArrayConstructor>(
    path: string | URL,
    count: number,
    type?: T,
    data?: ArrayBufferView,
    options?: CreateOptions
  ): ViewOf<T>
  open<T extends ViewType = Uint8ArrayConstructor>(
    path: string | URL | Descriptor,
    type?: T,
    mode?: Mode,
    options?: OpenOptions
  ): ViewOf<T>
  close(view: View): void
  /** A disposable that closes `view`: `using c = closing(open(...))`; `c.view` is the view. */
  closing<V extends View>(view: V): Closing<V>
  sync(view: View, options?: SyncOptions): void
  syncAsync(view: View, options?: SyncOptions): Promise<void>
  malloc<T extends ViewType = Uint8ArrayConstructor>(count: number, type?: T): ViewOf<T>
  free(view: View): void
  /** create, closed when the view is garbage-collected. */
  gccreate: Api['create']
  /** open, closed when the view is garbage-collected. */
  gcopen: Api['open']
  /** malloc, freed when the view is garbage-collected. */
  gcmalloc: Api['malloc']
  resize<V extends View>(view: V, count: number): V
  advise(view: View, advice: Advice): void
  info(view: View): ViewInfo
  struct: typeof struct
  /** The class of struct views (`view instanceof mmapfile.StructArray`). */
  readonly StructArray: typeof StructArray
  /** The `code` of every error from a call on a closed view. */
  readonly ERR_MMAPFILE_CLOSED: typeof ERR_MMAPFILE_CLOSED
  readonly PAGE_SIZE: number
  readonly backend: 'native' | 'wasm'
  readonly backendError: Error | null
  readonly capabilities: Capabilities
}
