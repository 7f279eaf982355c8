// The WebAssembly backend for Node: the backend (src/wasm/backend.ts) over our WASI host on node:fs
// (src/wasm/node-host.ts). Other hosts (a browser's) use createWasmBackend with their own WASI host.

import type { Backend } from '../front/backend.js'
import { readFileSync } from 'node:fs'
import { createNodeWasiHost } from './node-host.js'
import { createWasmBackend } from './backend.js'
import type { WasmBackend } from './backend.js'

export { createWasmBackend } from './backend.js'
export type { WasiHost, WasmBackend, WasmBackendOptions, WasmStats } from './backend.js'
export { createNodeWasiHost } from './node-host.js'
export type { NodeWasiHost, NodeWasiHostOptions } from './node-host.js'

let loaded: WasmBackend | null = null
const exitHooks: Array<() => void> = []

/**
 * Runs `hook` when this process, or this worker thread, exits normally: its main script ends, or it
 * calls process.exit. Not on worker.terminate() nor on a signal. One 'exit' listener for every hook.
 */
export function onNodeExit(hook: () => void): void {
  if (exitHooks.length === 0)
    process.on('exit', () => {
      for (const each of exitHooks) each()
    })
  exitHooks.push(hook)
}

/** The WebAssembly backend on Node's file system (made once, then the same object). */
export function loadWasmBackend(): WasmBackend & Backend {
  if (loaded === null) {
    const wasi = createNodeWasiHost()
    loaded = createWasmBackend({
      wasi,
      pageSize: systemPageSize(),
      fdSyncAsync: wasi.fdSyncAsync,
      onExit: onNodeExit,
      adoptFd: wasi.adoptFd
    })
  }
  return loaded
}

/** The system's page size: AT_PAGESZ from /proc/self/auxv on Linux, 16 KiB on Apple silicon, else 4 KiB. */
function systemPageSize(): number {
  if (process.platform === 'linux') {
    try {
      const auxv = readFileSync('/proc/self/auxv')
      const AT_PAGESZ = 6n
      for (let i = 0; i + 16 <= auxv.length; i += 16) {
        if (auxv.readBigUInt64LE(i) === AT_PAGESZ) return Number(auxv.readBigUInt64LE(i + 8))
      }
    } catch {
      // no /proc: fall through
    }
  }
  return process.platform === 'darwin' && process.arch === 'arm64' ? 16384 : 4096
}
