// The messages a user reads when a call is wrong: each names the function and what it got, in
// words (never "undefined undefined", never a function's source), and keeps its code.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Ctx } from './ctx'
import { expectThrow, tmpFile } from '../helpers'

export default function register(ctx: Ctx): void {
  const api: any = ctx.api
  const s = suite(`${ctx.label} messages`)

  s('a missing argument reads "got undefined": create(path), advise(view), close(undefined)', () => {
    expectThrow(
      () => api.create(tmpFile()),
      {
        type: TypeError,
        code: 'ERR_INVALID_ARG_TYPE',
        message: 'mmapfile.create: count must be a number, got undefined'
      },
      'create(path)'
    )
    const v = api.malloc(4)
    try {
      expectThrow(
        () => api.advise(v),
        {
          type: TypeError,
          code: 'ERR_INVALID_ARG_VALUE',
          message: 'mmapfile.advise: advice must be one of normal sequential random willneed dontneed, got undefined'
        },
        'advise(view)'
      )
    } finally {
      api.free(v)
    }
    expectThrow(
      () => api.close(undefined),
      {
        type: TypeError,
        code: 'ERR_INVALID_ARG_TYPE',
        message: 'mmapfile.close: expected a view made by mmapfile, got undefined'
      },
      'close(undefined)'
    )
    expectThrow(() => api.open(null), { type: TypeError, message: /, got null$/ }, 'open(null)')
  })

  s('a function or class where a type belongs is named, not printed', () => {
    const err = expectThrow(() => api.struct({ a: Float64Array }), { type: TypeError }, 'struct({ a: Float64Array })')
    assert.is(
      err.message,
      'mmapfile.struct: field a has an unknown type, function Float64Array; ' +
        'use one of i8 u8 i16 u16 i32 u32 i64 u64 f32 f64, a struct type or [elementType, count]'
    )
    class Point {
      x = 0
      y = 0
    }
    expectThrow(() => api.struct({ p: Point }), { type: TypeError, message: /, class Point;/ }, 'struct({ p: Point })')
    expectThrow(
      () => api.open(tmpFile(), Point),
      {
        type: TypeError,
        code: 'ERR_INVALID_ARG_TYPE',
        message:
          'mmapfile.open: type must be a typed-array constructor or a struct type from mmapfile.struct(), got class Point'
      },
      'open(path, Point)'
    )
    expectThrow(
      () => api.malloc(1, () => 1),
      { type: TypeError, message: /, got function \(anonymous\)$/ },
      'malloc(1, () => 1)'
    )
  })

  s("a file: URL that names no local file: the host's code, and a message that names the function", () => {
    const p = tmpFile()
    const host = new URL(pathToFileURL(p).href.replace('file:///', 'file://elsewhere/'))
    if (typeof process !== 'undefined' && process.platform === 'win32') {
      // On Windows file://elsewhere/… is a network share (\\elsewhere\…), a path like any other.
      expectThrow(
        () => api.create(host, 1),
        { type: Error, message: /^mmapfile\.create: / },
        'create(file://elsewhere/…)'
      )
    } else {
      expectThrow(
        () => api.create(host, 1),
        {
          type: TypeError,
          code: 'ERR_INVALID_FILE_URL_HOST',
          message: /^mmapfile\.create: /
        },
        'create(file://elsewhere/…)'
      )
    }
    const encoded = new URL(`${pathToFileURL(path.dirname(p)).href}/a%2Fb.bin`)
    expectThrow(
      () => api.open(encoded),
      {
        type: TypeError,
        code: 'ERR_INVALID_FILE_URL_PATH',
        message: /^mmapfile\.open: /
      },
      'open(file:///…/a%2Fb.bin)'
    )
  })

  s('ERR_MMAPFILE_CLOSED and StructArray: named exports, on the default export too, and what they say', () => {
    assert.is(api.ERR_MMAPFILE_CLOSED, 'ERR_MMAPFILE_CLOSED')
    assert.is(api.default.ERR_MMAPFILE_CLOSED, api.ERR_MMAPFILE_CLOSED)
    assert.type(api.StructArray, 'function')
    assert.is(api.default.StructArray, api.StructArray)
    const v = api.malloc(2, api.struct({ a: 'u32' }))
    assert.ok(v instanceof api.default.StructArray, 'a struct view is a StructArray')
    const record = v.at(0)
    api.free(v)
    expectThrow(() => api.info(v), { type: TypeError, code: api.ERR_MMAPFILE_CLOSED }, 'info of a freed view')
    expectThrow(() => record.a, { type: TypeError, code: api.ERR_MMAPFILE_CLOSED }, 'a record of a freed view')
  })

  s.run()
}
