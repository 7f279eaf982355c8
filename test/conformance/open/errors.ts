// open(): its errors, each with its type, code and message.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Ctx } from '../ctx'
import { heldSnapshot, expectThrow, fileBytes, fileWith, sameBytes, tmpDir } from '../../helpers'
import { requires } from '../../helpers'

/** Paths that name no file that can be mapped, and what is not a path or a type. */
export function pathErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s('is a function', () => {
    assert.type(api.open, 'function')
  })

  // --- errors first
  s('a missing file: ENOENT with code, syscall, path, and the message of the contract', () => {
    const held = heldSnapshot()
    const p = path.join(tmpDir, 'missing.bin')
    const e = expectThrow(
      () => api.open(p),
      { type: Error, code: 'ENOENT', syscall: 'open', path: p },
      'open(<missing>)'
    )
    assert.is(e.message, `mmapfile.open: ENOENT: no such file or directory, open '${p}'`)
    expectThrow(
      () => api.open(p, Uint8Array, 'rw'),
      { type: Error, code: 'ENOENT', syscall: 'open', path: p },
      "open(<missing>, Uint8Array, 'rw')"
    )
    assert.not.ok(fs.existsSync(p), "open 'rw' created the file")
    held('after the failed opens')
  })

  s('the message names the path as given (relative)', () => {
    const rel = `missing-${process.pid}.bin`
    assert.not.ok(fs.existsSync(rel))
    const e = expectThrow(
      () => api.open(rel),
      { type: Error, code: 'ENOENT', syscall: 'open' },
      'open(<relative missing>)'
    )
    assert.is(e.message, `mmapfile.open: ENOENT: no such file or directory, open '${rel}'`)
    assert.not.ok(fs.existsSync(rel))
  })

  s('a directory is EISDIR, in both modes; a path under a file is ENOTDIR', () => {
    const held = heldSnapshot()
    for (const mode of ['r', 'rw']) {
      const e = expectThrow(
        () => api.open(tmpDir, Uint8Array, mode),
        { type: Error, code: 'EISDIR', path: tmpDir },
        `open(<dir>, Uint8Array, '${mode}')`
      )
      assert.ok(e.message.startsWith('mmapfile.open: EISDIR'), `message names open: ${e.message}`)
      assert.ok(e.message.includes(tmpDir), `message names the path: ${e.message}`)
    }
    const f = fileWith(4)
    expectThrow(() => api.open(path.join(f, 'x')), { type: Error, code: 'ENOTDIR', syscall: 'open' }, 'open(<file>/x)')
    held('after the failed opens')
  })

  s("the empty path '' is ENOENT", () => {
    expectThrow(() => api.open(''), { type: Error, code: 'ENOENT' }, "open('')")
  })

  // A number is a file descriptor (test/conformance/fd.ts).
  s('a path that is not a string, a file: URL or a descriptor is a TypeError', () => {
    for (const [name, p] of [
      ['a bigint', 3n],
      ['null', null],
      ['undefined', undefined],
      ['an object', {}],
      ['an http: URL', new URL('http://example.com/a')],
      ['an array', []]
    ] as Array<[string, unknown]>) {
      expectThrow(() => api.open(p), { type: TypeError }, `open(${name})`)
    }
  })

  // root reads everything: there the test is counted as skipped rather than passing vacuously
  requires(
    s,
    'not-root',
    'posix-modes'
  )('EACCES for a file this user cannot read', () => {
    const held = heldSnapshot()
    const p = fileWith(8)
    fs.chmodSync(p, 0o200)
    expectThrow(() => api.open(p), { type: Error, code: 'EACCES', syscall: 'open', path: p }, 'open(<unreadable>)')
    held('after the failed open')
  })

  for (const [name, type] of [
    ['Object', Object],
    ["'i32'", 'i32'],
    ['DataView', DataView],
    ['Array', Array],
    ['a struct field spec', { a: 'i32' }],
    ['null', null],
    ['a number', 1]
  ] as Array<[string, unknown]>) {
    s(`type ${name} is a TypeError`, () => {
      const held = heldSnapshot()
      const p = fileWith(16)
      expectThrow(() => api.open(p, type), { type: TypeError }, `open(p, ${name})`)
      held('after the failed open')
    })
  }
}

/** Bad modes, offsets and lengths. */
export function argumentErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE

  s("modes other than 'r' and 'rw' are TypeErrors", () => {
    const held = heldSnapshot()
    const p = fileWith(16)
    const before = fileBytes(p)
    for (const mode of ['x', 'w', 'R', 'RW', 'r+', 'wr', '', 1, true, {}]) {
      expectThrow(
        () => api.open(p, Uint8Array, mode),
        { type: TypeError },
        `open(p, Uint8Array, ${JSON.stringify(mode)})`
      )
    }
    sameBytes(fileBytes(p), before, 'the file')
    held('after the failed opens')
  })

  s('bad offsets: RangeError out of domain or past the end, TypeError for a non-number', () => {
    const held = heldSnapshot()
    const size = 3 * PAGE + 10
    const p = fileWith(size)
    const cases: Array<[unknown, typeof TypeError | typeof RangeError]> = [
      [-1, RangeError],
      [0.5, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      [-0.5, RangeError],
      [size + 1, RangeError],
      [2 ** 40, RangeError],
      ['1', TypeError],
      [1n, TypeError],
      [null, TypeError],
      [{}, TypeError]
    ]
    for (const mode of ['r', 'rw']) {
      for (const [offset, type] of cases) {
        expectThrow(
          () => api.open(p, Uint8Array, mode, { offset }),
          { type },
          `open(p, Uint8Array, '${mode}', { offset: ${String(offset)} }) of a ${size}-byte file`
        )
      }
    }
    held('after the failed opens')
  })

  s('bad lengths: RangeError out of domain or past the end, TypeError for a non-number', () => {
    const held = heldSnapshot()
    const size = 2 * PAGE
    const p = fileWith(size)
    const cases: Array<[number, unknown, typeof TypeError | typeof RangeError]> = [
      [0, -1, RangeError],
      [0, 0.5, RangeError],
      [0, NaN, RangeError],
      [0, Infinity, RangeError],
      [0, size + 1, RangeError],
      [1, size, RangeError],
      [PAGE + 3, PAGE - 2, RangeError],
      [size, 1, RangeError],
      [0, '4', TypeError],
      [0, 4n, TypeError],
      [0, {}, TypeError]
    ]
    for (const mode of ['r', 'rw']) {
      for (const [offset, length, type] of cases) {
        expectThrow(
          () => api.open(p, Uint8Array, mode, { offset, length }),
          { type },
          `open(p, Uint8Array, '${mode}', { offset: ${offset}, length: ${String(length)} }) of a ${size}-byte file`
        )
      }
    }
    held('after the failed opens')
  })
}
