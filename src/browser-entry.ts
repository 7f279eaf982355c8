// mmapfile in browsers (the `browser` export condition of `mmapfile` and `mmapfile/wasm`): the same
// API on the WebAssembly backend, over an in-memory file system that lives as long as the page.
// `files` puts bytes in (from a Uint8Array, a Blob or File, a fetch Response) and takes them out.
// Nothing here may need Node: no node: modules, Buffer, process or require (test/browser.test.mjs).

import { ConsoleStdout, File, OpenFile, PreopenDirectory } from '@bjorn3/browser_wasi_shim'
import { createApi, frontOf } from './front/api.js'
import type { Api } from './front/api.js'
import { createFiles } from './browser/files.js'
import type { Files } from './browser/files.js'
import { browserPaths } from './browser/paths.js'
import { shared } from './front/shared.js'
import { createWasmBackend } from './wasm/backend.js'
import { createShimWasiHost } from './wasm/shim-host.js'

/** A page has no system page size to report; 64 KiB is WebAssembly's page and the write-back chunk. */
const WASM_PAGE_SIZE = 65536

// The file system: '/', the module's root preopen; stdout and stderr go to the console.
// One per realm, as the backend is (src/front/shared.ts): every copy of this bundle sees the same files.
const root = shared('browser:root', () => new PreopenDirectory('/', new Map()))
const stdio = [
  new OpenFile(new File([])),
  ConsoleStdout.lineBuffered((line) => console.log(line)),
  ConsoleStdout.lineBuffered((line) => console.warn(line))
]
const api = createApi(
  frontOf('wasm', () => createWasmBackend({ wasi: createShimWasiHost(root, stdio), pageSize: WASM_PAGE_SIZE })),
  null,
  browserPaths
)

export const files: Files = createFiles(root.dir)

export type {
  Advice,
  Api,
  Capabilities,
  Closing,
  CreateOptions,
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
} from './front/api.js'
export type {
  ElementType,
  FieldLayout,
  Fields,
  FieldType,
  ScalarName,
  StructRecord,
  StructType,
  ValueOf
} from './front/struct.js'
export type { AsyncFileSource, Files, FileSource } from './browser/files.js'
export type { MmapfileError, SystemError } from './front/errors.js'
export { StructArray } from './front/struct.js'
export { ERR_MMAPFILE_CLOSED } from './front/errors.js'
export const {
  create,
  open,
  close,
  closing,
  sync,
  syncAsync,
  malloc,
  free,
  gccreate,
  gcopen,
  gcmalloc,
  resize,
  advise,
  info,
  struct,
  PAGE_SIZE,
  capabilities,
  backend,
  backendError
} = api

const browserApi: Api & { readonly files: Files } = Object.freeze({ ...api, files })
export default browserApi
