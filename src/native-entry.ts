// mmapfile/native: the API on the native addon only. Importing it throws, catchably, where the
// addon cannot load or cannot work (no prebuilt binary, no compiler, Electron's memory cage).

import { createApi, frontOf } from './front/api.js'
import { loadNativeBackend } from './native/backend.js'
import { nodePaths, packageRoot } from './node/host.js'
import { NATIVE_ENTRY, nativeUnavailable } from './node/native-unavailable.js'

function load(): ReturnType<typeof loadNativeBackend> {
  try {
    return loadNativeBackend(packageRoot())
  } catch (error) {
    throw nativeUnavailable(error, packageRoot(), NATIVE_ENTRY)
  }
}

const api = createApi(frontOf('native', load), null, nodePaths)

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
