// What the Node WASI host (src/wasm/node-host.ts) needs from node:fs, in WASI's terms: a file's type,
// exact stats stored as WASI's u64s, the errno for what node:fs threw, and the platform's quirks.

import { constants as osConstants } from 'node:os'
import { constants, statSync } from 'node:fs'
import type { BigIntStats, Stats } from 'node:fs'
import { dirname } from 'node:path'
import { errnoOf } from './errno.js'

const FILETYPE_UNKNOWN = 0
const FILETYPE_BLOCK_DEVICE = 1
const FILETYPE_CHARACTER_DEVICE = 2
const FILETYPE_DIRECTORY = 3
const FILETYPE_REGULAR_FILE = 4
const FILETYPE_SOCKET_STREAM = 6
const FILETYPE_SYMBOLIC_LINK = 7

/** WASI's filetype for a file's stats. */
export function fileType(stats: {
  isFile(): boolean
  isDirectory(): boolean
  isBlockDevice(): boolean
  isCharacterDevice(): boolean
  isSocket(): boolean
  isSymbolicLink(): boolean
}): number {
  if (stats.isFile()) return FILETYPE_REGULAR_FILE
  if (stats.isDirectory()) return FILETYPE_DIRECTORY
  if (stats.isBlockDevice()) return FILETYPE_BLOCK_DEVICE
  if (stats.isCharacterDevice()) return FILETYPE_CHARACTER_DEVICE
  if (stats.isSocket()) return FILETYPE_SOCKET_STREAM
  if (stats.isSymbolicLink()) return FILETYPE_SYMBOLIC_LINK
  return FILETYPE_UNKNOWN
}

export type AnyStats = Stats | BigIntStats

/**
 * stat as numbers, which is what a small open can afford (bigint stats build a Date per time, eagerly,
 * on Node 20), unless a number it gives may be rounded: then again as bigints. An inode number past
 * 2^53 shows as one past 2^53 once rounded, so the check cannot miss it; the file's identity (device,
 * inode) must be exact, or two files could pass for one.
 */
export function exactStat(asNumbers: () => Stats, asBigInts: () => BigIntStats): AnyStats {
  const stats = asNumbers()
  const exact =
    stats.ino <= Number.MAX_SAFE_INTEGER &&
    stats.dev <= Number.MAX_SAFE_INTEGER &&
    stats.size <= Number.MAX_SAFE_INTEGER
  return exact ? stats : asBigInts()
}

/** A stat time in nanoseconds: exact from bigint stats, else from milliseconds (to a few hundred ns). */
export function nanoseconds(stats: AnyStats, which: 'atime' | 'mtime' | 'ctime'): bigint | number {
  return 'atimeNs' in stats ? stats[`${which}Ns`] : Math.max(0, Math.round(stats[`${which}Ms`] * 1e6))
}

/**
 * Stores a u64: a bigint as it is (modulo 2^64), a number (a safe integer, or a time in ns that may be
 * rounded) as two u32 halves, which makes no BigInt: a small open stats its file, and the BigInts
 * were most of that.
 */
export function setU64(out: DataView, at: number, value: bigint | number): void {
  if (typeof value === 'bigint') {
    out.setBigUint64(at, BigInt.asUintN(64, value), true)
    return
  }
  const high = Math.floor(value / 4294967296)
  out.setUint32(at, value - high * 4294967296, true)
  out.setUint32(at + 4, high >>> 0, true)
}

/** The errno for whatever a node:fs call threw. */
export function errnoFrom(error: unknown): number {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (typeof code === 'string') return errnoOf(code)
  // Deno's node:fs throws some errors with no code, only a message like 'File too large (os error 27)'.
  const osError = /\(os error (\d+)\)/.exec(String(message))
  return errnoOf(osError === null ? undefined : ERRNO_NAMES.get(Number(osError[1])))
}

/** errno number -> name ('EFBIG'), from this system's own table. */
const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, errno]) => [errno, name]))

/**
 * Node's permission model (Node 20 to 24; `process.permission` exists only under it) refuses
 * fsync and fdatasync outright, with ERR_ACCESS_DENIED, whatever the paths allowed. Writes through
 * a descriptor opened with O_DSYNC are allowed, and each returns once its bytes, and the file size
 * they need, are on the disk. So under the model this host opens every file it may write with
 * O_DSYNC (where the platform has it), and an fd_sync that fsync refuses has only a change of size
 * left to make durable: see durableWithoutFsync.
 */
export const dsyncWrites = (): number =>
  typeof process === 'object' && (process as { permission?: unknown }).permission !== undefined
    ? (constants.O_DSYNC ?? 0)
    : 0

/** Whether a path that was not found runs through a file ('file.bin/child'): Windows says ENOENT, POSIX ENOTDIR. */
export function underAFile(path: string): boolean {
  for (let parent = dirname(path); parent !== dirname(parent); parent = dirname(parent)) {
    try {
      return !statSync(parent).isDirectory()
    } catch {
      // missing too: look further up
    }
  }
  return false
}

/** Whether a node:fs error is the runtime's refusal (Node's permission model), not the system's. */
export function isRefusal(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_ACCESS_DENIED'
}
