// mmapfile/mmap-io: mmap-io's API (src/compat/mmap-io.ts) over the backend that `mmapfile` picks
// (MMAPFILE_BACKEND says which, as for `mmapfile`). `require('mmap-io')` becomes
// `require('mmapfile/mmap-io')`; createMmapIo gives the same API over another entry point.

import api from './index.js'
import { createMmapIo } from './compat/mmap-io.js'

const mmap = createMmapIo(api)

export { createMmapIo } from './compat/mmap-io.js'
export type { FileDescriptor, MapAdvise, MapFlags, MapProtectionFlags, MmapIo } from './compat/mmap-io.js'
export const {
  map,
  advise,
  sync,
  incore,
  unmap,
  PAGESIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_NONBLOCK,
  MAP_POPULATE,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED
} = mmap
export default mmap
