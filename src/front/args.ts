// The checks of the API's arguments: each returns the value to use, or throws the TypeError or
// RangeError that names the function and what it got.

import type { Advice } from './backend.js'
import { argTypeError, argValueError, describe, rangeError, systemError, withContext } from './errors.js'
import { isStructType } from './struct.js'
import type { Mode, ViewType } from './types.js'

const TYPED_ARRAYS: ReadonlySet<unknown> = new Set<unknown>([
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array
])

const ADVICE: ReadonlySet<unknown> = new Set<unknown>(['normal', 'sequential', 'random', 'willneed', 'dontneed'])

const MAX_FD = 2 ** 31 - 1

/**
 * The descriptor that open's first argument names, or null if it names a path: a number (any integer
 * from 0 to 2^31 - 1, as node:fs takes them), or an object with a numeric `fd` and a `close` method (a
 * node:fs/promises FileHandle, whose fd reads -1 once it is closed: EBADF).
 */
export function descriptorOf(fn: string, source: unknown): number | null {
  let fd: unknown = source
  if (typeof source === 'object' && source !== null && !(source instanceof URL)) {
    const handle = source as { fd?: unknown; close?: unknown }
    if (typeof handle.fd !== 'number' || typeof handle.close !== 'function') return null
    fd = handle.fd
    if (fd === -1) throw withContext(systemError('EBADF', 'open', 'bad file descriptor'), fn, null, -1)
  } else if (typeof source !== 'number') {
    return null
  }
  if (!Number.isInteger(fd) || (fd as number) < 0 || (fd as number) > MAX_FD) {
    throw rangeError(fn, `a file descriptor must be an integer from 0 to ${MAX_FD}, got ${String(fd)}`)
  }
  return fd as number
}

export function checkType(fn: string, type: unknown): ViewType {
  if (type === undefined) return Uint8Array
  if (TYPED_ARRAYS.has(type) || isStructType(type)) return type as ViewType
  throw argTypeError(
    fn,
    `type must be a typed-array constructor or a struct type from mmapfile.struct(), got ${describe(type)}`
  )
}

export function checkMode(fn: string, mode: unknown): Mode {
  if (mode === undefined) return 'r'
  if (mode === 'r' || mode === 'rw') return mode
  throw argValueError(fn, `mode must be 'r' or 'rw', got ${describe(mode)}`)
}

export function checkAdvice(fn: string, advice: unknown): Advice {
  if (ADVICE.has(advice)) return advice as Advice
  throw argValueError(fn, `advice must be one of ${[...ADVICE].join(' ')}, got ${describe(advice)}`)
}

export function checkCount(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number') throw argTypeError(fn, `${name} must be a number, got ${describe(value)}`)
  if (!Number.isSafeInteger(value) || value < 0) {
    throw rangeError(fn, `${name} must be a whole number >= 0, got ${value}`)
  }
  return value
}

function optionalCount(fn: string, name: string, value: unknown): number | null {
  return value === undefined ? null : checkCount(fn, name, value)
}

function checkFlag(fn: string, name: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw argTypeError(fn, `${name} must be a boolean, got ${describe(value)}`)
}

function optionsObject(fn: string, options: unknown): Record<string, unknown> {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object') throw argTypeError(fn, `options must be an object, got ${describe(options)}`)
  return options as Record<string, unknown>
}

/** create's options. */
export function createOptions(fn: string, options: unknown): { sparse: boolean } {
  return { sparse: checkFlag(fn, 'options.sparse', optionsObject(fn, options).sparse) ?? false }
}

/** open's options. */
export function openOptions(fn: string, options: unknown): { offset: number; length: number | null; sparse: boolean } {
  const { offset, length, sparse } = optionsObject(fn, options)
  return {
    offset: optionalCount(fn, 'options.offset', offset) ?? 0,
    length: optionalCount(fn, 'options.length', length),
    sparse: checkFlag(fn, 'options.sparse', sparse) ?? false
  }
}

/** The bytes create copies into a new file, taken before the file is touched. */
export function sourceBytes(fn: string, data: unknown, byteLength: number): Uint8Array | null {
  if (data === undefined) return null
  if (!ArrayBuffer.isView(data)) throw argTypeError(fn, `data must be a typed array or DataView, got ${describe(data)}`)
  if (data.byteLength > byteLength)
    throw rangeError(fn, `data is ${data.byteLength} bytes, longer than the file's ${byteLength}`)
  // data over a detached buffer (a closed view, say) must fail here, not after the file was created.
  try {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  } catch {
    throw argTypeError(fn, 'data is over a detached buffer (a closed view?)')
  }
}

/** sync's options, as a range of a view of `byteLength` bytes. */
export function syncRange(
  fn: string,
  byteLength: number,
  options: unknown
): { offset: number; length: number; durable: boolean } {
  const { offset, length, durable } = optionsObject(fn, options)
  const from = optionalCount(fn, 'options.offset', offset) ?? 0
  const count = optionalCount(fn, 'options.length', length)
  const isDurable = checkFlag(fn, 'options.durable', durable) ?? true
  if (from > byteLength) throw rangeError(fn, `options.offset ${from} is beyond the view's ${byteLength} bytes`)
  const end = from + (count ?? byteLength - from)
  if (end > byteLength) {
    throw rangeError(fn, `options.offset + options.length (${end}) is beyond the view's ${byteLength} bytes`)
  }
  return { offset: from, length: end - from, durable: isDurable }
}
