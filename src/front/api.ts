// The public API over one backend: argument checks (src/front/args.ts), defaults, typed views and the
// registry of open views (src/front/registry.ts). Every entry point (mmapfile, mmapfile/native,
// mmapfile/wasm) is `createApi` over the front of the backend it chose.

import type { Backend, Capabilities, Mapping } from './backend.js'
import {
  checkAdvice,
  checkCount,
  checkMode,
  checkType,
  createOptions,
  descriptorOf,
  openOptions,
  sourceBytes,
  syncRange
} from './args.js'
import { ERR_MMAPFILE_CLOSED, argTypeError, describe, rangeError, tooLarge, withContext } from './errors.js'
import { checkPath } from './paths.js'
import type { PathRules } from './paths.js'
import { CLOSED, closing, failed, lookUpIn, register, release } from './registry.js'
import type { Front, Open, Registry } from './registry.js'
import { StructArray, struct } from './struct.js'
import type { Api, Mode, View, ViewInfo, ViewType } from './types.js'

export type {
  Advice,
  Api,
  Capabilities,
  Closing,
  CreateOptions,
  Descriptor,
  DisposableView,
  Mode,
  OpenOptions,
  SyncOptions,
  TypedArray,
  TypedArrayConstructor,
  View,
  ViewInfo,
  ViewOf,
  ViewType
} from './types.js'
export type { PathRules } from './paths.js'
export type { Front } from './registry.js'
export { frontOf } from './registry.js'

export function createApi(front: Front, backendError: Error | null, paths: PathRules): Api {
  const calls = new Calls(front, paths)
  const api: Api = {
    create: (path, count, type, data, options) =>
      calls.create('create', false, path, count, type, data, options) as never,
    gccreate: (path, count, type, data, options) =>
      calls.create('gccreate', true, path, count, type, data, options) as never,
    open: (path, type, mode, options) => calls.open('open', false, path, type, mode, options) as never,
    gcopen: (path, type, mode, options) => calls.open('gcopen', true, path, type, mode, options) as never,
    malloc: (count, type) => calls.malloc('malloc', false, count, type) as never,
    gcmalloc: (count, type) => calls.malloc('gcmalloc', true, count, type) as never,
    close: (view) => calls.release('close', view, 'any'),
    closing: (view) => closing(front, view),
    free: (view) => calls.release('free', view, 'memory'),
    sync: (view, options) => calls.sync(view, options),
    syncAsync: (view, options) => calls.syncAsync(view, options),
    resize: (view, count) => calls.resize(view, count),
    advise: (view, advice) => calls.advise(view, advice),
    info: (view) => calls.info(view),
    struct,
    StructArray,
    ERR_MMAPFILE_CLOSED,
    PAGE_SIZE: front.backend.pageSize,
    backend: front.backend.name,
    backendError,
    capabilities: calls.capabilities
  }
  return Object.freeze(api)
}

/** The API's calls over one backend and its registry. */
class Calls {
  readonly capabilities: Capabilities
  readonly backend: Backend
  readonly views: Registry

  constructor(
    readonly front: Front,
    readonly paths: PathRules
  ) {
    this.backend = front.backend
    this.views = front.views
    this.capabilities = Object.freeze({ ...front.backend.capabilities })
  }

  #checkFits(fn: string, byteLength: number): void {
    if (byteLength > this.capabilities.maxViewBytes) {
      throw rangeError(fn, tooLarge(byteLength, this.capabilities.maxViewBytes, fn.endsWith('open')))
    }
  }

  #mapFile(
    fn: string,
    path: unknown,
    type: ViewType,
    map: (absolute: string) => Mapping,
    mode: Mode,
    offset: number
  ): View {
    const { given, absolute } = checkPath(fn, path, this.paths)
    let mapping: Mapping
    try {
      mapping = map(absolute)
    } catch (error) {
      throw withContext(error, fn, given)
    }
    return register(this.front, { mapping, kind: 'file', mode, path: absolute, offset, type })
  }

  create(
    fn: string,
    autoClose: boolean,
    path: unknown,
    count: unknown,
    type: unknown,
    data: unknown,
    options: unknown
  ): View {
    const viewType = checkType(fn, type)
    const byteLength = checkCount(fn, 'count', count) * viewType.BYTES_PER_ELEMENT
    const source = sourceBytes(fn, data, byteLength)
    const { sparse } = createOptions(fn, options)
    this.#checkFits(fn, byteLength)
    return this.#mapFile(
      fn,
      path,
      viewType,
      (absolute) => {
        const mapping = this.backend.create(absolute, byteLength, { autoClose, sparse })
        if (source !== null) new Uint8Array(mapping.buffer, mapping.byteOffset, mapping.byteLength).set(source)
        return mapping
      },
      'rw',
      0
    )
  }

  open(fn: string, autoClose: boolean, path: unknown, type: unknown, mode: unknown, options: unknown): View {
    const viewType = checkType(fn, type)
    const checkedMode = checkMode(fn, mode)
    const { offset, length, sparse } = openOptions(fn, options)
    if (length !== null) this.#checkFits(fn, length)
    const fd = descriptorOf(fn, path)
    if (fd !== null) {
      let mapping: Mapping
      try {
        mapping = this.backend.openFd(fd, checkedMode, offset, length, { autoClose, sparse })
      } catch (error) {
        throw withContext(error, fn, null, fd)
      }
      return register(this.front, { mapping, kind: 'file', mode: checkedMode, path: null, fd, offset, type: viewType })
    }
    if (typeof path !== 'string' && !(path instanceof URL)) {
      throw argTypeError(
        fn,
        `path must be a string, a file: URL, a file descriptor or a FileHandle, got ${describe(path)}`
      )
    }
    return this.#mapFile(
      fn,
      path,
      viewType,
      (absolute) => this.backend.open(absolute, checkedMode, offset, length, { autoClose, sparse }),
      checkedMode,
      offset
    )
  }

  malloc(fn: string, autoClose: boolean, count: unknown, type: unknown): View {
    const viewType = checkType(fn, type)
    const byteLength = checkCount(fn, 'count', count) * viewType.BYTES_PER_ELEMENT
    this.#checkFits(fn, byteLength)
    let mapping: Mapping
    try {
      mapping = this.backend.alloc(byteLength, { autoClose, sparse: false })
    } catch (error) {
      throw withContext(error, fn, null)
    }
    return register(this.front, { mapping, kind: 'memory', mode: 'rw', path: null, offset: 0, type: viewType })
  }

  release(fn: string, view: unknown, kinds: 'any' | 'memory'): void {
    release(this.front, fn, view, kinds)
  }

  /** The open entry of `view` and the range to sync; null when there is nothing to write back. */
  #toSync(
    fn: string,
    view: unknown,
    options: unknown
  ): { open: Open; offset: number; length: number; durable: boolean } | null {
    const open = lookUpIn(this.views, fn, view)
    const range = syncRange(fn, open.mapping.byteLength, options)
    if (open.mode === 'r' || open.kind === 'memory' || range.length === 0) return null
    return { open, ...range }
  }

  sync(view: unknown, options: unknown): void {
    const what = this.#toSync('sync', view, options)
    if (what === null) return
    try {
      this.backend.sync(what.open.mapping, what.offset, what.length, what.durable)
    } catch (error) {
      throw failed(error, 'sync', what.open)
    }
  }

  async syncAsync(view: unknown, options: unknown): Promise<void> {
    const what = this.#toSync('syncAsync', view, options)
    if (what === null) return
    try {
      await this.backend.syncAsync(what.open.mapping, what.offset, what.length, what.durable)
    } catch (error) {
      throw failed(error, 'syncAsync', what.open)
    }
  }

  resize<V extends View>(view: V, count: unknown): V {
    const open = lookUpIn(this.views, 'resize', view)
    if (open.mode === 'r') throw argTypeError('resize', "an 'r' view cannot be resized; open the file 'rw'")
    if (open.mmapIo)
      throw argTypeError('resize', 'a Buffer from mmapfile/mmap-io map() cannot be resized; unmap it and map again')
    const byteLength = checkCount('resize', 'count', count) * open.type.BYTES_PER_ELEMENT
    this.#checkFits('resize', byteLength)
    try {
      open.mapping = this.backend.resize(open.mapping, byteLength)
    } catch (error) {
      throw failed(error, 'resize', open)
    }
    this.views.set(view, CLOSED[open.kind])
    return register(this.front, open) as V
  }

  advise(view: unknown, advice: unknown): void {
    const open = lookUpIn(this.views, 'advise', view)
    const checked = checkAdvice('advise', advice)
    try {
      this.backend.advise(open.mapping, checked)
    } catch (error) {
      throw failed(error, 'advise', open)
    }
  }

  info(view: unknown): ViewInfo {
    const open = lookUpIn(this.views, 'info', view)
    const info: ViewInfo = {
      path: open.path,
      mode: open.mode,
      offset: open.offset,
      byteLength: open.mapping.byteLength,
      backend: this.backend.name
    }
    if (open.fd !== undefined) info.fd = open.fd
    return info
  }
}
