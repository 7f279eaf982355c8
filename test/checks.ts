// What a test asserts about bytes and errors, with nothing of Node: test/helpers.ts re-exports it,
// and the browser's helpers (test/browser/helpers.ts) too, so that a conformance file asserts the
// same way in a page.
import * as assert from 'uvu/assert'
import { pattern as patternBytes } from './pattern.mjs'

/** Deterministic bytes: see pattern.mjs, which the browser page shares. */
export const pattern: (n: number, seed?: number) => Uint8Array<ArrayBuffer> = patternBytes

/** The bytes of any view (typed array or StructArray), as a Uint8Array over the same memory. */
export function bytesOf(view: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
}

// ---------------------------------------------------------------------------------------------
// Byte comparisons that say where they differ instead of printing megabytes.

export function sameBytes(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  if (actual.length !== expected.length) {
    assert.unreachable(`${what}: length ${actual.length}, expected ${expected.length}`)
  }
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.unreachable(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`)
    }
  }
}

export function allZero(bytes: ArrayLike<number>, what: string): void {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) assert.unreachable(`${what}: byte ${i} is ${bytes[i]}, expected 0`)
  }
}

// ---------------------------------------------------------------------------------------------
// Errors.

type ErrorClass = new (...args: any[]) => Error

export interface Expected {
  /** TypeError, RangeError or Error (for file-system failures). */
  type: ErrorClass
  code?: string
  syscall?: string
  path?: string
  message?: string | RegExp
}

// A TypeError the implementation did not mean to throw (a missing function, a property of
// undefined) must not pass for a deliberate argument check.
const ACCIDENT =
  /is not a function|Cannot read propert|Cannot set propert|is not defined|is not iterable|is not a constructor|Cannot convert|Maximum call stack/

export function checkError(err: unknown, exp: Expected, what: string): Error {
  if (!(err instanceof Error)) {
    assert.unreachable(`${what}: threw ${String(err)}, expected a ${exp.type.name}`)
  }
  const e = err as Error & { code?: unknown; syscall?: unknown; path?: unknown }
  const desc = `${e.name}${e.code === undefined ? '' : ` [${String(e.code)}]`}: ${e.message}`
  if (ACCIDENT.test(e.message)) assert.unreachable(`${what}: an accidental error, not a check: ${desc}`)
  if (!(e instanceof exp.type)) assert.unreachable(`${what}: expected a ${exp.type.name}, got ${desc}`)
  if (exp.type === Error && (e instanceof TypeError || e instanceof RangeError)) {
    assert.unreachable(`${what}: expected a file-system Error, got ${desc}`)
  }
  if (exp.code !== undefined) assert.is(e.code, exp.code, `${what}: code (${desc})`)
  else if (e.code === 'ERR_MMAPFILE_CLOSED') assert.unreachable(`${what}: a live view reported as closed: ${desc}`)
  if (exp.syscall !== undefined) assert.is(e.syscall, exp.syscall, `${what}: syscall (${desc})`)
  if (exp.path !== undefined) assert.is(e.path, exp.path, `${what}: path (${desc})`)
  if (typeof exp.message === 'string') assert.is(e.message, exp.message, `${what}: message`)
  else if (exp.message !== undefined) assert.match(e.message, exp.message, `${what}: message`)
  return e
}

/** Calls fn, which must throw as `exp`; returns the error. */
export function expectThrow(fn: () => unknown, exp: Expected, what: string): Error {
  let threw = false
  let err: unknown
  let result: unknown
  try {
    result = fn()
  } catch (e) {
    threw = true
    err = e
  }
  if (!threw) {
    let shown: string
    try {
      shown =
        result instanceof Promise
          ? 'a Promise'
          : `${Object.prototype.toString.call(result)} ${String((result as any)?.length ?? '')}`
    } catch {
      shown = '?'
    }
    assert.unreachable(`${what}: did not throw (returned ${shown}), expected a ${exp.type.name}`)
  }
  return checkError(err, exp, what)
}

/** Calls fn, which must return a Promise (never throw) that rejects as `exp`. */
export async function expectReject(fn: () => unknown, exp: Expected, what: string): Promise<Error> {
  let p: unknown
  try {
    p = fn()
  } catch (e) {
    const er = e as Error
    assert.unreachable(`${what}: threw synchronously (${er?.name}: ${er?.message}), expected a rejected Promise`)
  }
  if (!(p instanceof Promise)) assert.unreachable(`${what}: returned ${String(p)}, expected a Promise`)
  try {
    await p
  } catch (e) {
    return checkError(e, exp, what)
  }
  return assert.unreachable(`${what}: the Promise resolved, expected it to reject with a ${exp.type.name}`) as never
}

export const closedError = { type: TypeError, code: 'ERR_MMAPFILE_CLOSED' }
