// mmapfile/wasm: the API on the WebAssembly backend only, even where the native addon would load.

import { createApi, frontOf } from './front/api.js'
import { nodePaths } from './node/host.js'
import { loadWasmBackend } from './wasm/node.js'

const api = createApi(frontOf('wasm', loadWasmBackend), null, nodePaths)

export type * from './index.js'
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
