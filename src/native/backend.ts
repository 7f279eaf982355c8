// The native backend: the Backend of src/front/backend.ts over the Node-API addon (native/binding.c,
// which documents each export). The front has checked every argument; this file only translates.

import { constants } from 'node:buffer'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { getSystemErrorMap } from 'node:util'
import type { Advice, Backend, Capabilities, MapOptions, Mapping } from '../front/backend.js'
import { offsetBeyondEnd, tooLarge, viewClosedError, windowBeyondEnd, windowError } from '../front/errors.js'
import { addonBesideBundle } from '../node/host.js'
import { addonFile, permissionRefusal } from '../node/restricted.js'

/** One mapping inside the addon (an external); opaque here. */
interface Handle {
  readonly __mmapfileHandle: never
}

/** The numbers the addon exports (native/binding.c), which this file reads rather than copies. */
const CONSTANTS = [
  'MODE_READ',
  'MODE_WRITE',
  'MODE_CREATE',
  'MAP_AUTOCLOSE',
  'MAP_SPARSE',
  'ADVICE_NORMAL',
  'ADVICE_SEQUENTIAL',
  'ADVICE_RANDOM',
  'ADVICE_WILLNEED',
  'ADVICE_DONTNEED',
  'WINDOW_OFFSET',
  'WINDOW_END',
  'WINDOW_TOO_BIG'
] as const
type Constants = { readonly [name in (typeof CONSTANTS)[number]]: number }

/** The addon's exports. */
interface Addon extends Constants {
  map(
    path: string,
    mode: number,
    offset: number,
    length: number,
    maxBytes: number,
    flags: number
  ): [ArrayBuffer, Handle]
  mapFd(
    fd: number,
    mode: number,
    offset: number,
    length: number,
    maxBytes: number,
    flags: number
  ): [ArrayBuffer, Handle]
  alloc(length: number, maxBytes: number): [ArrayBuffer, Handle]
  close(handle: Handle, buffer: ArrayBuffer): void
  sync(handle: Handle, offset: number, length: number, durable: 0 | 1): void
  syncAsync(handle: Handle, offset: number, length: number): Promise<void>
  incore(handle: Handle, offset: number, length: number): [number, number]
  advise(handle: Handle, advice: number, offset: number, length: number): void
  resize(handle: Handle, buffer: ArrayBuffer, length: number, maxBytes: number): ArrayBuffer
  readonly pageSize: number
  /** the largest region the process could map when the addon loaded */
  readonly maxMapBytes: number
}

function adviceOf(addon: Addon): Readonly<Record<Advice, number>> {
  return {
    normal: addon.ADVICE_NORMAL,
    sequential: addon.ADVICE_SEQUENTIAL,
    random: addon.ADVICE_RANDOM,
    willneed: addon.ADVICE_WILLNEED,
    dontneed: addon.ADVICE_DONTNEED
  }
}

function mapFlags(addon: Addon, { autoClose, sparse }: MapOptions): number {
  return (autoClose ? addon.MAP_AUTOCLOSE : 0) | (sparse ? addon.MAP_SPARSE : 0)
}
const FUNCTIONS = ['map', 'mapFd', 'alloc', 'close', 'sync', 'syncAsync', 'incore', 'advise', 'resize'] as const

/**
 * The bytes are the whole buffer. `handle` is null once the mapping is closed, or was resized:
 * resize returns a new NativeMapping over the same handle, and the old one then acts as closed.
 */
class NativeMapping implements Mapping {
  readonly byteOffset = 0
  constructor(
    readonly buffer: ArrayBuffer,
    public handle: Handle | null
  ) {}
  /** 0 once the buffer is detached (closed, or resized away). */
  get byteLength(): number {
    return this.buffer.byteLength
  }
}

let errorNames: Map<number, [string, string]> | null = null

/** What the addon reports of a window that does not fit the file (native/binding.c). */
interface WindowReport {
  window: number
  offset: number
  length: number
  size: number
  maxBytes: number
}

/**
 * The window error's RangeError, worded by the front (src/front/errors.ts). A view too large is an
 * open's window: the front refuses a create or resize larger than maxBytes before it gets here.
 */
function windowMisfit(addon: Addon, { window, offset, length, size, maxBytes }: WindowReport): RangeError {
  if (window === addon.WINDOW_OFFSET) return windowError(offsetBeyondEnd(offset, size))
  if (window === addon.WINDOW_END) return windowError(windowBeyondEnd(offset, offset + length, size))
  return windowError(tooLarge(length, maxBytes, true))
}

/**
 * The addon reports codes and numbers; this gives its errors the `code` and `message` the front
 * expects. File-system failures come with `errno` (negative, libuv's numbering) and `syscall` only:
 * the addon calls no libuv, which Bun and Deno do not provide; they are named ('ENOENT', 'no such
 * file or directory') from the runtime's table of libuv's names and texts (Node, Bun and Deno all
 * have it). A window that does not fit comes with its numbers. Other errors pass unchanged.
 */
function named(addon: Addon, error: unknown): unknown {
  const e = error as { errno?: unknown; syscall?: unknown; code?: unknown; message?: unknown; window?: unknown }
  if (error instanceof Error && typeof e.window === 'number') return windowMisfit(addon, error as Error & WindowReport)
  if (
    !(error instanceof Error) ||
    typeof e.errno !== 'number' ||
    typeof e.syscall !== 'string' ||
    e.code !== undefined
  ) {
    return error
  }
  errorNames ??= getSystemErrorMap()
  // libuv's uv_err_name and uv_strerror say this for a number they do not know
  const unknown = `Unknown system error ${e.errno}`
  const [code, message] = errorNames.get(e.errno) ?? [unknown, unknown]
  return Object.assign(error, { code, message })
}

function native(mapping: Mapping): NativeMapping {
  if (!(mapping instanceof NativeMapping)) throw new TypeError('not a mapping of the native backend')
  return mapping
}

function live(mapping: Mapping): Handle {
  const handle = native(mapping).handle
  if (handle === null) throw viewClosedError()
  return handle
}

/**
 * The largest view: what the engine lets an ArrayBuffer be (buffer.constants.MAX_LENGTH: 4 GiB on
 * Node 20 and Bun, 2^53 - 1 on Node 22+ and Deno, whose V8 takes external buffers of terabytes),
 * and what the process can map (a bound on its address space: 128 TiB on 64-bit, native/mapping.h).
 */
function maxViewBytes(addon: Addon): number {
  return Math.min(constants.MAX_LENGTH, addon.maxMapBytes)
}

/** Calls the addon, naming the errors it throws. */
function call<T>(addon: Addon, fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    throw named(addon, error)
  }
}

/** Maps and releases a page: fails where this process cannot hold external memory (Electron). */
function probe(addon: Addon, maxBytes: number): void {
  const [buffer, handle] = call(addon, () => addon.alloc(addon.pageSize, maxBytes))
  new Uint8Array(buffer)[0] = 1
  addon.close(handle, buffer)
  if (buffer.byteLength !== 0) throw new Error('close did not release the probe mapping')
}

/** `path`, unless Node's permission model refuses it (src/node/restricted.ts): then its error. */
function allowed(path: string, write: boolean): string {
  const refusal = permissionRefusal(path, write)
  if (refusal !== null) throw refusal
  return path
}

function backendOver(addon: Addon, maxBytes: number): Backend {
  const capabilities: Capabilities = Object.freeze({ coherent: true, writeBackGranularity: 1, maxViewBytes: maxBytes })
  const wrap = ([buffer, handle]: [ArrayBuffer, Handle]): Mapping => new NativeMapping(buffer, handle)
  const ADVICE = adviceOf(addon)
  const flags = (options: MapOptions): number => mapFlags(addon, options)
  const modeOf = (mode: 'r' | 'rw'): number => (mode === 'r' ? addon.MODE_READ : addon.MODE_WRITE)

  return Object.freeze({
    name: 'native',
    capabilities,
    pageSize: addon.pageSize,
    open: (path: string, mode: 'r' | 'rw', offset: number, length: number | null, options: MapOptions) =>
      wrap(
        call(addon, () =>
          addon.map(allowed(path, mode !== 'r'), modeOf(mode), offset, length ?? -1, maxBytes, flags(options))
        )
      ),
    // A descriptor was opened, and so allowed, by whoever opened it: the permission model has had its say.
    openFd: (fd: number, mode: 'r' | 'rw', offset: number, length: number | null, options: MapOptions) =>
      wrap(call(addon, () => addon.mapFd(fd, modeOf(mode), offset, length ?? -1, maxBytes, flags(options)))),
    create: (path: string, byteLength: number, options: MapOptions) =>
      wrap(
        call(addon, () => addon.map(allowed(path, true), addon.MODE_CREATE, 0, byteLength, maxBytes, flags(options)))
      ),
    alloc: (byteLength: number) => wrap(call(addon, () => addon.alloc(byteLength, maxBytes))),
    close(mapping: Mapping): void {
      const m = native(mapping)
      if (m.handle === null) return
      // If writing back fails, the addon throws and keeps the mapping: close can be retried.
      call(addon, () => addon.close(m.handle as Handle, m.buffer))
      m.handle = null
    },
    sync: (mapping: Mapping, offset: number, length: number, durable = true) =>
      call(addon, () => addon.sync(live(mapping), offset, length, durable ? 1 : 0)),
    syncAsync(mapping: Mapping, offset: number, length: number, durable = true): Promise<void> {
      try {
        // msync(MS_ASYNC) does not wait for the disk: nothing to take off this thread.
        if (!durable) return Promise.resolve(addon.sync(live(mapping), offset, length, 0))
        return addon.syncAsync(live(mapping), offset, length).catch((error: unknown) => {
          throw named(addon, error)
        })
      } catch (error) {
        return Promise.reject(named(addon, error))
      }
    },
    resize(mapping: Mapping, byteLength: number): Mapping {
      const m = native(mapping)
      const handle = live(m)
      const buffer = call(addon, () => addon.resize(handle, m.buffer, byteLength, maxBytes))
      m.handle = null
      return new NativeMapping(buffer, handle)
    },
    advise: (mapping: Mapping, advice: Advice, offset = 0, length = mapping.byteLength) =>
      call(addon, () => addon.advise(live(mapping), ADVICE[advice], offset, length)),
    incore: (mapping: Mapping, offset: number, length: number) =>
      call(addon, () => addon.incore(live(mapping), offset, length))
  })
}

/**
 * Loads the addon from `addonPath` if given, else from beside the running bundle (where the
 * esbuild plugin copies it), else from the package root (build/ or prebuilds/, through
 * node-gyp-build), and checks that it works in this process. Throws, catchably, if it cannot
 * load or cannot work: Electron's memory cage gives code 'ERR_MMAPFILE_NO_EXTERNAL_BUFFERS'.
 */
export function loadNativeBackend(root: string, addonPath?: string): Backend {
  const require = createRequire(join(root, 'package.json'))
  const path = addonPath ?? addonBesideBundle()
  const addon = require(addonFile(root, require, path)) as Addon
  if (
    FUNCTIONS.some((name) => typeof addon[name] !== 'function') ||
    typeof addon.maxMapBytes !== 'number' ||
    CONSTANTS.some((name) => typeof addon[name] !== 'number')
  ) {
    throw new Error(
      `mmapfile: the native addon lacks one of ${[...FUNCTIONS, 'maxMapBytes', ...CONSTANTS].join(', ')}; rebuild it (npm run build:addon)`
    )
  }
  const maxBytes = maxViewBytes(addon)
  try {
    probe(addon, maxBytes)
  } catch (error) {
    if (error instanceof Error) error.message = `mmapfile: the native addon cannot work here: ${error.message}`
    throw error
  }
  return backendOver(addon, maxBytes)
}
