// The mmapfile module (assembly/index.ts) as JavaScript sees it: what an instance exports, the numbers
// it defines (read from the instance, where the module exports them), and its errors as Node-style ones.

import { describeErrno } from './errno.js'

/**
 * A WASI preview1 host. Called once per module instance with a getter of that instance's memory (read
 * it on every call: it may grow); returns the instance's imports. Instances share the host's fd table:
 * an fd opened by one is used by others. The root directory '/' must be preopened as ROOT_FD.
 */
export type WasiHost = (memory: () => WebAssembly.Memory) => WebAssembly.Imports

/**
 * The fd of the root preopen, which the module opens every path relative to: WASI's first preopen.
 * The module exports its own (assembly/wasi.ts); layoutOf refuses a module that disagrees.
 */
export const ROOT_FD = 3

/** What the module exports (assembly/index.ts documents each). */
export interface Exports {
  memory: WebAssembly.Memory
  _initialize?(): void
  path_buffer(): number
  filestat_buffer(): number
  open_path(pathLength: number, how: number): number
  unlink_path(pathLength: number): number
  file_size(fd: number): number
  set_file_size(fd: number, size: number): number
  sync_fd(fd: number): number
  close_fd(fd: number): number
  draw_keys(): number
  read_at(fd: number, offset: number, length: number): number
  write_at(fd: number, offset: number, length: number): number
  reserve(fd: number, offset: number, length: number, flags: number): number
  fill_window(): number
  fingerprints_address(): number
  flush(start: number, end: number, durable: number): number
  chunk_changed(j: number): number
  rehash_chunk(j: number): void
  write_chunk(j: number): number
  resize(length: number): number
  take_bytes_written(): number
  take_bytes_read(): number
  last_syscall(): number
  max_window(): number
}

/** The module's layout and flags, as it exports them (assembly/index.ts, "What JavaScript reads"). */
export interface Layout {
  /** open_path's `how` */
  readonly HOW_READ: number
  readonly HOW_READ_WRITE: number
  readonly HOW_CREATE_NEW: number
  readonly HOW_CREATE_OR_OPEN: number
  /** reserve()'s flags */
  readonly MAP_READ: number
  readonly MAP_TRACK: number
  readonly MAP_UNSYNCED: number
  /** bytes of the path buffer */
  readonly PATH_BYTES: number
  /** the write-back granule, and the longest key */
  readonly CHUNK: number
  readonly FP_BYTES: number
  /** where the two keys start, and the window (also where read_at and write_at put a chunk) */
  readonly KEY1: number
  readonly KEY2: number
  readonly WINDOW: number
  /** last_syscall()'s numbers, by the name an error gives */
  readonly OPS: Readonly<Record<string, number>>
}

const NUMBERS = [
  'HOW_READ',
  'HOW_READ_WRITE',
  'HOW_CREATE_NEW',
  'HOW_CREATE_OR_OPEN',
  'MAP_READ',
  'MAP_TRACK',
  'MAP_UNSYNCED',
  'PATH_BYTES',
  'CHUNK',
  'FP_BYTES',
  'KEY1',
  'KEY2',
  'WINDOW'
] as const
/** The syscall each OP_* of the module stands for, in an error's `syscall`. */
const OP_NAMES: Readonly<Record<string, string>> = {
  OP_OPEN: 'open',
  OP_READ: 'read',
  OP_WRITE: 'write',
  OP_FSYNC: 'fsync',
  OP_FTRUNCATE: 'ftruncate',
  OP_FSTAT: 'fstat',
  OP_CLOSE: 'close',
  OP_UNLINK: 'unlink',
  OP_RANDOM: 'getrandom',
  OP_MMAP: 'mmap'
}

/** The module's numbers, read from the globals an instance exports. */
export function layoutOf(instance: WebAssembly.Instance): Layout {
  const value = (name: string): number => {
    const global = instance.exports[name]
    if (!(global instanceof WebAssembly.Global))
      throw new Error(`mmapfile: the WebAssembly module exports no ${name}; rebuild it`)
    return Number(global.value)
  }
  const numbers = Object.fromEntries(NUMBERS.map((name) => [name, value(name)])) as Record<
    (typeof NUMBERS)[number],
    number
  >
  const OPS = Object.fromEntries(Object.entries(OP_NAMES).map(([op, syscall]) => [syscall, value(op)]))
  if (value('ROOT_FD') !== ROOT_FD)
    throw new Error(
      `mmapfile: the WebAssembly module opens paths under fd ${value('ROOT_FD')}, not ${ROOT_FD}; rebuild it`
    )
  return Object.freeze({ ...numbers, OPS: Object.freeze(OPS) })
}

/** A Node-style error for a WASI errno: `code`, `syscall`, and the bare description as its message. */
export function errnoError(errno: number, syscall: string): Error {
  const [code, description] = describeErrno(errno)
  return Object.assign(new Error(description), { code, syscall })
}

/** Names last_syscall()'s numbers, for `check`. */
export function syscallNames(layout: Layout): readonly string[] {
  const names: string[] = []
  for (const [syscall, op] of Object.entries(layout.OPS)) names[op] = syscall
  return names
}

/** Throws the Node-style error for a negative result of `exports`; returns the result otherwise. */
export function check(result: number, exports: Exports, names: readonly string[]): number {
  if (result < 0) throw errnoError(-result, names[exports.last_syscall()] ?? 'open')
  return result
}
