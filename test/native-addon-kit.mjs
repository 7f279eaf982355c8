// What the checks of the native addon (test/native-addon*.test.mjs) share: the addon, its numbers, files
// in a temporary directory, and what /proc shows.
import { constants } from 'node:buffer'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

export const root = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)
export const addon = require('node-gyp-build')(root)
export const MAX = constants.MAX_LENGTH
export const PAGE = addon.pageSize
export const R = 0,
  RW = 1,
  CREATE = 2
export const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-addon-'))
let counter = 0

export function file(content) {
  const p = path.join(dir, `f${counter++}.bin`)
  if (content !== undefined) fs.writeFileSync(p, content)
  return p
}

/**
 * Registers `name` as a skip and prints why, as test/helpers.ts skipTest() does (scripts/test.mjs
 * lists the reasons): a test that cannot run here is counted as skipped, never as passed.
 */
export function skip(name, reason) {
  console.log(`# skip: "${name}": ${reason}`)
  test.skip(name)
}

export function mapsMention(p) {
  return fs.readFileSync('/proc/self/maps', 'utf8').includes(p)
}

export function fdCount() {
  return fs.readdirSync('/proc/self/fd').length
}

export function throwsWith(fn, check) {
  try {
    fn()
  } catch (error) {
    check(error)
    return
  }
  assert.unreachable('did not throw')
}

// The addon calls no libuv (Bun and Deno lack it): a system error carries errno (negative, as libuv
// numbers them) and syscall; src/native/backend.ts names it.
export const errno = (name) => -os.constants.errno[name]

// A window that does not fit: the numbers, which src/front/errors.ts words (through src/native/backend.ts).
export const misfit = (window, offset, length, size, maxBytes) => (e) => {
  assert.instance(e, Error)
  assert.equal(
    { window: e.window, offset: e.offset, length: e.length, size: e.size, maxBytes: e.maxBytes },
    { window, offset, length, size, maxBytes }
  )
}
