// A WASI host for the mmapfile module on @bjorn3/browser_wasi_shim: files live in the shim's
// in-memory file system. For pages (and for proving that the module needs nothing but WASI).

import { File, OpenFile, WASI } from '@bjorn3/browser_wasi_shim'
import type { Fd, PreopenDirectory } from '@bjorn3/browser_wasi_shim'
import { ROOT_FD } from './module.js'
import type { WasiHost } from './module.js'

/**
 * A host whose root preopen is `root` (the module opens every path under it), with `stdio` as fds 0 to 2
 * (an empty file for any not given). Each module instance gets its own shim WASI object bound to its
 * memory, all sharing one fd table, so that an fd opened by one instance is valid in every other.
 */
export function createShimWasiHost(root: PreopenDirectory, stdio: readonly Fd[] = []): WasiHost {
  const fds: Fd[] = Array.from({ length: ROOT_FD }, (_, fd) => stdio[fd] ?? new OpenFile(new File([])))
  fds.push(root)
  return (memory) => {
    const wasi = new WASI([], [], fds, { debug: false })
    wasi.inst = {
      exports: {
        get memory() {
          return memory()
        }
      }
    }
    return { wasi_snapshot_preview1: wasi.wasiImport as unknown as WebAssembly.ModuleImports }
  }
}
