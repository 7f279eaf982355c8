// mmapfile: the unified API. Picks a backend once, at load: MMAPFILE_BACKEND says which, and
// by default the native addon if it loads and works in this process, else WebAssembly.

import { createApi, frontOf } from './front/api.js'
import type { Front } from './front/api.js'
import { loadNativeBackend } from './native/backend.js'
import { backendVariable, nodePaths, packageRoot } from './node/host.js'
import { NATIVE_VARIABLE, nativeUnavailable } from './node/native-unavailable.js'
import { loadWasmBackend } from './wasm/node.js'

const ALLOWED = ['auto', 'native', 'wasm']

function choose(): { front: Front; backendError: Error | null } {
  const wanted = backendVariable() || 'auto'
  if (!ALLOWED.includes(wanted)) {
    throw new Error(`mmapfile: MMAPFILE_BACKEND is '${wanted}'; allowed values are ${ALLOWED.join(', ')} (or unset)`)
  }
  if (wanted === 'wasm') {
    return {
      front: frontOf('wasm', loadWasmBackend),
      backendError: new Error('mmapfile: MMAPFILE_BACKEND=wasm asked for the WebAssembly backend')
    }
  }
  try {
    return { front: frontOf('native', () => loadNativeBackend(packageRoot())), backendError: null }
  } catch (error) {
    if (wanted === 'native') throw nativeUnavailable(error, packageRoot(), NATIVE_VARIABLE)
    return {
      front: frontOf('wasm', loadWasmBackend),
      backendError: error instanceof Error ? error : new Error(String(error))
    }
  }
}

const chosen = choose()
const api = createApi(chosen.front, chosen.backendError, nodePaths)

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
export default api
