// The WASI host of the browser build: @bjorn3/browser_wasi_shim over an in-memory directory tree,
// adapted to the WasiHost contract of src/wasm-backend.ts: every module instance gets imports bound
// to its own memory, and all of them share one fd table, with '/' preopened as fd 3.

import { ConsoleStdout, Directory, OpenFile, File, PreopenDirectory, WASI } from '@bjorn3/browser_wasi_shim'
import type { Fd } from '@bjorn3/browser_wasi_shim'
import type { WasiHost } from './wasm-backend.js'

/**
 * The preopened '/'. The module passes absolute paths ('/a/b.bin') relative to it; the shim takes
 * only relative ones and refuses a leading '/' (ENOTCAPABLE), so the slash is dropped here.
 */
class RootDirectory extends PreopenDirectory {
  override path_open(dirflags: number, path: string, oflags: number, rightsBase: bigint, rightsInheriting: bigint,
    fdflags: number): ReturnType<PreopenDirectory['path_open']> {
    return super.path_open(dirflags, relative(path), oflags, rightsBase, rightsInheriting, fdflags)
  }

  override path_unlink_file(path: string): number {
    return super.path_unlink_file(relative(path))
  }
}

function relative(path: string): string {
  return path.replace(/^\/+/, '')
}

/** A WASI host over the directory tree `root` (its contents are the files under '/'). */
export function createBrowserWasiHost(root: Directory): WasiHost {
  const preopen = new RootDirectory('/', new Map())
  // The tree is the caller's, so that mmapfile.files sees what the module writes and the other way round.
  preopen.dir = root
  const fds: Fd[] = [
    new OpenFile(new File([])),
    ConsoleStdout.lineBuffered((line) => console.log(line)),
    ConsoleStdout.lineBuffered((line) => console.warn(line)),
    preopen
  ]
  return (memory) => {
    // One WASI object per instance, all over the same fds array: the shim reads the memory from
    // `inst.exports.memory`, which here is the instance's, read again on every call.
    const wasi = new WASI([], [], fds, { debug: false })
    wasi.inst = { exports: { get memory() { return memory() } } }
    return { wasi_snapshot_preview1: wasi.wasiImport as WebAssembly.ModuleImports }
  }
}
