// A WASI host for the mmapfile module on @bjorn3/browser_wasi_shim: files live in the shim's
// in-memory file system. For pages (and for proving that the module needs nothing but WASI).

import { WASI } from '@bjorn3/browser_wasi_shim'
import type { Fd } from '@bjorn3/browser_wasi_shim'
import type { WasiHost } from './backend.js'

/**
 * A host over the shim's fd table `fds`, which must hold the root directory at index 3 (for example
 * `[stdin, stdout, stderr, new PreopenDirectory('/', contents)]`). Each module instance gets its own
 * shim WASI object bound to its memory, all sharing `fds`, so that an fd opened by one instance is
 * valid in every other.
 */
export function createShimWasiHost(fds: Fd[]): WasiHost {
  return (memory) => {
    const wasi = new WASI([], [], fds, { debug: false })
    wasi.inst = { exports: { get memory () { return memory() } } }
    return { wasi_snapshot_preview1: wasi.wasiImport as unknown as WebAssembly.ModuleImports }
  }
}
