// mmapfile: the unified API. Picks a backend once, at load: MMAPFILE_BACKEND says which, and
// by default the native addon if it loads and works in this process, else WebAssembly.

import { createApi } from './api.js'
import type { Backend } from './backend.js'
import { loadNativeBackend } from './native.js'
import { backendVariable, nodePaths, packageRoot } from './node-host.js'
import { loadWasmBackend } from './wasm.js'

const ALLOWED = ['auto', 'native', 'wasm']

function choose(): { backend: Backend; backendError: Error | null } {
  const wanted = backendVariable() || 'auto'
  if (!ALLOWED.includes(wanted)) {
    throw new Error(`mmapfile: MMAPFILE_BACKEND is '${wanted}'; allowed values are ${ALLOWED.join(', ')} (or unset)`)
  }
  if (wanted === 'wasm') {
    return { backend: loadWasmBackend(), backendError: new Error('mmapfile: MMAPFILE_BACKEND=wasm asked for the WebAssembly backend') }
  }
  try {
    return { backend: loadNativeBackend(packageRoot()), backendError: null }
  } catch (error) {
    if (wanted === 'native') throw error
    return { backend: loadWasmBackend(), backendError: error instanceof Error ? error : new Error(String(error)) }
  }
}

const chosen = choose()
const api = createApi(chosen.backend, chosen.backendError, nodePaths)

export type {
  Advice, Api, Capabilities, Mode, OpenOptions, SyncOptions, TypedArray, TypedArrayConstructor, View, ViewInfo, ViewOf, ViewType
} from './api.js'
export type { ElementType, FieldLayout, Fields, FieldType, ScalarName, StructRecord, StructType, ValueOf } from './struct.js'
export { StructArray } from './struct.js'

export const {
  create, open, close, sync, syncAsync, malloc, free, gccreate, gcopen, gcmalloc, resize, advise, info, struct,
  PAGE_SIZE, capabilities, backend, backendError
} = api
export default api
