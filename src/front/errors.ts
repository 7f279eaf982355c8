// The errors the public API throws. Backends throw bare system errors ({ code, syscall, message });
// the front names the function and the path here, so that every backend's errors read alike.

/** The `code` of the TypeError that every call on a closed view (or a record of one) throws. */
export const ERR_MMAPFILE_CLOSED = 'ERR_MMAPFILE_CLOSED'

/**
 * What a `catch` may read off any error that mmapfile throws: a file-system failure is a SystemError;
 * a bad argument has `code` 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE' or 'ERR_OUT_OF_RANGE';
 * a call on a closed view has ERR_MMAPFILE_CLOSED.
 */
export interface MmapfileError extends Error {
  code?: string
  syscall?: string
  path?: string
  errno?: number
}

/**
 * A file-system failure, with Node's fields: `code` ('ENOENT', …), `syscall` ('open', …), `path`
 * (absent for a view of a descriptor) and, where the backend has it, `errno` (libuv's, negative).
 */
export interface SystemError extends Error {
  code: string
  syscall: string
  path?: string
  errno?: number
}

export function isSystemError(error: unknown): error is SystemError {
  return (
    error instanceof Error &&
    typeof (error as Partial<SystemError>).code === 'string' &&
    typeof (error as Partial<SystemError>).syscall === 'string'
  )
}

/**
 * `mmapfile.open: ENOENT: no such file or directory, open 'missing.bin'`, with `path` set. A backend
 * whose create failed after it had to empty an existing file sets `emptied: true`: the message says so.
 * A view of a descriptor has no path: the message names the descriptor, `open fd 5`.
 */
export function withContext(error: unknown, fn: string, path: string | null, fd: number | null = null): unknown {
  if (!(error instanceof Error)) return error
  if (isSystemError(error) && !error.message.startsWith('mmapfile.')) {
    const where =
      path !== null ? `${error.syscall} '${path}'` : fd !== null ? `${error.syscall} fd ${fd}` : error.syscall
    const emptied =
      (error as { emptied?: unknown }).emptied === true
        ? ' (the existing file had been emptied: its old bytes are gone)'
        : ''
    error.message = `mmapfile.${fn}: ${error.code}: ${error.message}, ${where}${emptied}`
    if (path !== null) error.path = path
  } else if (!error.message.startsWith('mmapfile.')) {
    error.message = `mmapfile.${fn}: ${error.message}`
  }
  return error
}

function withCode<E extends Error>(error: E, code: string): E & { code: string } {
  return Object.assign(error, { code })
}

export function closedError(fn: string): TypeError & { code: string } {
  return withCode(new TypeError(`mmapfile.${fn}: the view is closed`), ERR_MMAPFILE_CLOSED)
}

export function argTypeError(fn: string, message: string): TypeError & { code: string } {
  return withCode(new TypeError(`mmapfile.${fn}: ${message}`), 'ERR_INVALID_ARG_TYPE')
}

export function argValueError(fn: string, message: string): TypeError & { code: string } {
  return withCode(new TypeError(`mmapfile.${fn}: ${message}`), 'ERR_INVALID_ARG_VALUE')
}

export function rangeError(fn: string, message: string): RangeError & { code: string } {
  return withCode(new RangeError(`mmapfile.${fn}: ${message}`), 'ERR_OUT_OF_RANGE')
}

/** A system error made by the front itself, e.g. for an empty path. */
export function systemError(code: string, syscall: string, description: string): SystemError {
  return Object.assign(new Error(description), { code, syscall })
}

/**
 * A value as an error message names it: 'undefined', 'null', "'text'", "number 3", "an instance of
 * Object", "function Float64Array", "class Point": never a function's source.
 */
export function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value)
  if (typeof value === 'function') {
    const kind = /^class\b/.test(Function.prototype.toString.call(value)) ? 'class' : 'function'
    return `${kind} ${value.name || '(anonymous)'}`
  }
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`
  if (typeof value === 'string') return `'${value}'`
  return `${typeof value} ${String(value)}`
}

// ---- the wording of what a backend reports as numbers (the native addon: an error's fields)

/** `offset 10 is beyond the end of the file (8 bytes)` */
export function offsetBeyondEnd(offset: number, size: number): string {
  return `offset ${offset} is beyond the end of the file (${size} bytes)`
}

/** `window [4, 9) is beyond the end of the file (8 bytes)` */
export function windowBeyondEnd(offset: number, end: number, size: number): string {
  return `window [${offset}, ${end}) is beyond the end of the file (${size} bytes)`
}

/** A view larger than `maxViewBytes`; for a window of a file (`open`), with how to map a smaller one. */
export function tooLarge(byteLength: number, maxViewBytes: number, window: boolean): string {
  return window
    ? `the window of ${byteLength} bytes is larger than the largest view (${maxViewBytes} bytes); map a window with options.offset and options.length`
    : `${byteLength} bytes is larger than the largest view (${maxViewBytes} bytes)`
}

/** A RangeError with one of the messages above, code ERR_OUT_OF_RANGE; the front adds `mmapfile.<fn>: `. */
export function windowError(message: string): RangeError & { code: string } {
  return withCode(new RangeError(message), 'ERR_OUT_OF_RANGE')
}

/** The closed-view TypeError of a backend, which does not know the function: the front adds it. */
export function viewClosedError(): TypeError & { code: string } {
  return withCode(new TypeError('the view is closed'), ERR_MMAPFILE_CLOSED)
}
