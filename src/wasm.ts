// The WebAssembly backend for Node: the backend (src/wasm-backend.ts) over our WASI host on node:fs
// (src/wasi-host.ts). Other hosts (a browser's) use createWasmBackend with their own WASI host.

import type { Backend } from './backend.js'
import { createNodeWasiHost, systemPageSize } from './wasi-host.js'
import { createWasmBackend } from './wasm-backend.js'
import type { WasmBackend } from './wasm-backend.js'

export { createWasmBackend } from './wasm-backend.js'
export type { WasiHost, WasmBackend, WasmBackendOptions, WasmStats } from './wasm-backend.js'
export { createNodeWasiHost } from './wasi-host.js'
export type { NodeWasiHost, NodeWasiHostOptions } from './wasi-host.js'

let loaded: WasmBackend | null = null
const exitHooks: Array<() => void> = []

/**
 * Runs `hook` when this process, or this worker thread, exits normally: its main script ends, or it
 * calls process.exit. Not on worker.terminate() nor on a signal. One 'exit' listener for every hook.
 */
export function onNodeExit(hook: () => void): void {
  if (exitHooks.length === 0) process.on('exit', () => { for (const each of exitHooks) each() })
  exitHooks.push(hook)
}

/** The WebAssembly backend on Node's file system (made once, then the same object). */
export function loadWasmBackend(): WasmBackend & Backend {
  if (loaded === null) {
    const wasi = createNodeWasiHost()
    loaded = createWasmBackend({
      wasi, pageSize: systemPageSize(), fdSyncAsync: wasi.fdSyncAsync, onExit: onNodeExit, adoptFd: wasi.adoptFd
    })
  }
  return loaded
}
