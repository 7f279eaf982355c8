// create(path, count, type?, data?)
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'
import { TYPED_ARRAYS, entry } from './ctx'
import type { Ctx } from './ctx'
import {
  allZero,
  heldSnapshot,
  bytesOf,
  childPrelude,
  expectThrow,
  fileBytes,
  fileSize,
  childReport,
  pattern,
  runChild,
  sameBytes,
  tmpDir,
  tmpFile
} from '../helpers'
import { requires } from '../helpers'

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} create`)
  argumentErrors(s, ctx)
  pathErrors(s, ctx)
  createdFiles(s, ctx)
  sizeLimits(s, ctx)
  s.run()
}

/** Bad counts, types and data: errors that leave no file and nothing mapped or open. */
function argumentErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s('is a function', () => {
    assert.type(api.create, 'function')
  })

  // --- errors first: each leaves no file and nothing mapped or open
  const badCounts: Array<[unknown, typeof TypeError | typeof RangeError]> = [
    [-1, RangeError],
    [1.5, RangeError],
    [NaN, RangeError],
    [Infinity, RangeError],
    [-Infinity, RangeError],
    ['3', TypeError],
    [undefined, TypeError],
    [null, TypeError],
    [3n, TypeError],
    [{}, TypeError]
  ]
  for (const [count, type] of badCounts) {
    s(`count ${String(count)} is a ${type.name}, and no file is left`, () => {
      const held = heldSnapshot()
      const p = tmpFile()
      expectThrow(() => api.create(p, count), { type }, `create(p, ${String(count)})`)
      assert.not.ok(fs.existsSync(p), 'a file was left behind')
      held('after the failed create')
    })
  }

  const badTypes: Array<[string, unknown]> = [
    ['Object', Object],
    ["'i32'", 'i32'],
    ['DataView', DataView],
    ['Array', Array],
    ['ArrayBuffer', ArrayBuffer],
    ['Buffer', Buffer],
    ['a number', 4],
    ['an instance', new Int32Array(2)]
  ]
  for (const [name, type] of badTypes) {
    s(`type ${name} is a TypeError, and no file is left`, () => {
      const held = heldSnapshot()
      const p = tmpFile()
      expectThrow(() => api.create(p, 2, type), { type: TypeError }, `create(p, 2, ${name})`)
      assert.not.ok(fs.existsSync(p), 'a file was left behind')
      held('after the failed create')
    })
  }

  s(
    'data over a detached buffer (a closed view) is a TypeError; no file is left, an existing file is untouched',
    () => {
      const held = heldSnapshot()
      const closed = api.malloc(8)
      api.free(closed)
      const p = tmpFile()
      expectThrow(
        () => api.create(p, 8, Uint8Array, closed),
        { type: TypeError },
        'create(p, 8, Uint8Array, a freed view)'
      )
      assert.not.ok(fs.existsSync(p), 'a file was left behind')
      const existing = tmpFile()
      const old = pattern(100)
      fs.writeFileSync(existing, old)
      expectThrow(
        () => api.create(existing, 8, Uint8Array, closed),
        { type: TypeError },
        'create(existing, 8, Uint8Array, a freed view)'
      )
      sameBytes(fileBytes(existing), old, 'an existing file after a create refused for its data')
      held('after the failed creates')
    }
  )

  s('data longer than the file is a RangeError; no file is left, an existing file is untouched', () => {
    const held = heldSnapshot()
    const p = tmpFile()
    expectThrow(
      () => api.create(p, 4, Uint8Array, new Uint8Array(5)),
      { type: RangeError },
      'create(p, 4, Uint8Array, 5 bytes)'
    )
    assert.not.ok(fs.existsSync(p), 'a file was left behind')
    expectThrow(
      () => api.create(p, 1, Int32Array, new Uint8Array(5)),
      { type: RangeError },
      'create(p, 1, Int32Array, 5 bytes)'
    )
    expectThrow(
      () => api.create(p, 0, Float64Array, new Uint8Array(1)),
      { type: RangeError },
      'create(p, 0, Float64Array, 1 byte)'
    )
    assert.not.ok(fs.existsSync(p), 'a file was left behind')
    const existing = tmpFile()
    const old = pattern(100)
    fs.writeFileSync(existing, old)
    expectThrow(
      () => api.create(existing, 2, Uint16Array, new Uint8Array(5)),
      { type: RangeError },
      'create(existing, 2, Uint16Array, 5 bytes)'
    )
    sameBytes(fileBytes(existing), old, 'an existing file after a create refused for its data')
    held('after the failed creates')
  })

  s('data that is not an ArrayBufferView is a TypeError; no file is left', () => {
    const held = heldSnapshot()
    for (const [name, data] of [
      ['an array', [1, 2]],
      ['a string', 'ab'],
      ['an ArrayBuffer', new ArrayBuffer(2)],
      ['a number', 7],
      ['null', null]
    ] as Array<[string, unknown]>) {
      const p = tmpFile()
      expectThrow(() => api.create(p, 4, Uint8Array, data), { type: TypeError }, `create(p, 4, Uint8Array, ${name})`)
      assert.not.ok(fs.existsSync(p), `${name}: a file was left behind`)
    }
    held('after the failed creates')
  })
}

/** Paths that cannot be made a file, and what is not a path. */
function pathErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s('a missing directory: ENOENT with code, syscall, path, and a message naming create; nothing left', () => {
    const held = heldSnapshot()
    const dir = path.join(tmpDir, 'no-such-dir')
    const p = path.join(dir, 'x.bin')
    const e = expectThrow(
      () => api.create(p, 8),
      { type: Error, code: 'ENOENT', syscall: 'open', path: p },
      'create in a missing directory'
    )
    assert.is(e.message, `mmapfile.create: ENOENT: no such file or directory, open '${p}'`)
    assert.not.ok(fs.existsSync(dir), 'create made the directory')
    held('after the failed create')
  })

  s('a directory: EISDIR; a path under a file: ENOTDIR', () => {
    const held = heldSnapshot()
    const e = expectThrow(
      () => api.create(tmpDir, 8),
      { type: Error, code: 'EISDIR', path: tmpDir },
      'create(<a directory>)'
    )
    assert.ok(e.message.startsWith('mmapfile.create: EISDIR'), `message names create: ${e.message}`)
    assert.ok(e.message.includes(tmpDir), `message names the path: ${e.message}`)
    assert.ok(fs.statSync(tmpDir).isDirectory())
    const f = tmpFile()
    fs.writeFileSync(f, 'x')
    const p = path.join(f, 'child.bin')
    expectThrow(() => api.create(p, 8), { type: Error, code: 'ENOTDIR', path: p }, 'create under a file')
    assert.is(fs.readFileSync(f, 'utf8'), 'x')
    held('after the failed creates')
  })

  s('a path that is not a string or file: URL is a TypeError', () => {
    const held = heldSnapshot()
    for (const [name, p] of [
      ['a number', 5],
      ['null', null],
      ['undefined', undefined],
      ['an object', {}],
      ['an http: URL', new URL('http://example.com/x')],
      ['a bigint', 42n]
    ] as Array<[string, unknown]>) {
      expectThrow(() => api.create(p, 4), { type: TypeError }, `create(${name}, 4)`)
    }
    held('after the failed creates')
  })

  s("the empty path '' fails as a file-system error (ENOENT)", () => {
    const held = heldSnapshot()
    expectThrow(() => api.create('', 4), { type: Error, code: 'ENOENT' }, "create('', 4)")
    held("after create('')")
  })
}

/** The file made: zeroed, of every element type, filled from data, truncated, at any path. */
function createdFiles(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  // --- happy path
  s('creates a zeroed file of count × elementSize bytes and maps it read-write', () => {
    const p = tmpFile()
    const v = api.create(p, 10)
    assert.instance(v, Uint8Array, 'the type defaults to Uint8Array')
    assert.is(v.length, 10)
    assert.is(fileSize(p), 10, 'file size right after create')
    allZero(v, 'a new view')
    v[0] = 1
    v[9] = 255
    api.close(v)
    sameBytes(fileBytes(p), [1, 0, 0, 0, 0, 0, 0, 0, 0, 255], 'file')
  })

  for (const T of TYPED_ARRAYS) {
    s(`${T.name}: create returns a ${T.name} of count elements; values round-trip through the file`, () => {
      const p = tmpFile()
      const n = 7
      const v = api.create(p, n, T)
      assert.instance(v, T)
      assert.is(v.constructor, T)
      assert.is(v.length, n)
      assert.is(v.byteLength, n * T.BYTES_PER_ELEMENT)
      assert.is(fileSize(p), n * T.BYTES_PER_ELEMENT, 'file size')
      const src = new T(pattern(n * T.BYTES_PER_ELEMENT, n).buffer)
      // NaN payloads are not preserved by reads of floats; write finite values there
      if (T === Float32Array || T === Float64Array) for (let i = 0; i < n; i++) (src as any)[i] = (i - 3) * 1.5
      v.set(src as any)
      api.close(v)
      const w = api.open(p, T)
      assert.instance(w, T)
      assert.is(w.length, n)
      assert.equal(Array.from(w), Array.from(src as any))
      api.close(w)
      sameBytes(fileBytes(p), bytesOf(src), 'file bytes')
    })
  }

  s('data is copied byte for byte, from any ArrayBufferView, honouring its byteOffset; the rest is zero', () => {
    const backing = pattern(64, 3)
    const data = new Uint8Array(backing.buffer, 5, 11)
    const p = tmpFile()
    const v = api.create(p, 4, Int32Array, data)
    assert.is(v.length, 4)
    api.close(v)
    const bytes = fileBytes(p)
    sameBytes(bytes.subarray(0, 11), backing.subarray(5, 16), 'copied bytes')
    allZero(bytes.subarray(11), 'bytes after the data')
    // a Float64Array and a DataView as data: bytes, not values
    const f = new Float64Array([1.5, -2])
    const q = tmpFile()
    api.close(api.create(q, 16, Uint8Array, f))
    sameBytes(fileBytes(q), bytesOf(f), 'Float64Array data')
    const dv = new DataView(backing.buffer, 10, 6)
    const r = tmpFile()
    api.close(api.create(r, 3, Uint16Array, dv))
    sameBytes(fileBytes(r), backing.subarray(10, 16), 'DataView data')
    // data exactly the size of the file
    const exact = pattern(24, 9)
    const x = tmpFile()
    const xv = api.create(x, 3, BigInt64Array, exact)
    sameBytes(bytesOf(xv), exact, 'the view holds the data before close')
    api.close(xv)
    sameBytes(fileBytes(x), exact, 'data of exactly the file size')
  })

  s('truncates an existing file, larger or smaller', () => {
    const p = tmpFile()
    fs.writeFileSync(p, pattern(5000))
    const v = api.create(p, 3, Uint16Array)
    assert.is(fileSize(p), 6)
    allZero(v, 'a truncated file reads as zeros')
    api.close(v)
    allZero(fileBytes(p), 'file')
    fs.writeFileSync(p, pattern(3))
    const w = api.create(p, 100)
    assert.is(fileSize(p), 100)
    allZero(w, 'a grown file reads as zeros')
    api.close(w)
    allZero(fileBytes(p), 'file')
  })

  s('count 0 gives an empty view and an empty file; an existing file is truncated to 0', () => {
    const p = tmpFile()
    const v = api.create(p, 0, Float64Array)
    assert.instance(v, Float64Array)
    assert.is(v.length, 0)
    assert.is(fileSize(p), 0)
    api.sync(v)
    api.close(v)
    fs.writeFileSync(p, 'abc')
    const w = api.create(p, 0)
    assert.is(w.length, 0)
    assert.is(fileSize(p), 0)
    api.close(w)
  })

  s('accepts a file: URL and a relative path', () => {
    const p = tmpFile()
    const v = api.create(pathToFileURL(p), 4)
    v[3] = 3
    api.close(v)
    sameBytes(fileBytes(p), [0, 0, 0, 3], 'file created through a URL')
    const q = tmpFile()
    const rel = path.relative(process.cwd(), q)
    assert.not.ok(path.isAbsolute(rel))
    const w = api.create(rel, 2)
    w[0] = 7
    api.close(w)
    sameBytes(fileBytes(q), [7, 0], 'file created through a relative path')
  })

  s('a file name with spaces, quotes and non-ASCII characters', () => {
    const p = tmpFile("naïve 'quoted' ü €.bin")
    const v = api.create(p, 3)
    v.set([1, 2, 3])
    api.close(v)
    sameBytes(fileBytes(p), [1, 2, 3], 'file')
  })
}

/** Counts past the largest view or the disk: errors that leave no file. */
function sizeLimits(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s('a count larger than maxViewBytes is a RangeError and leaves no file', () => {
    const held = heldSnapshot()
    const max = api.capabilities.maxViewBytes
    const p = tmpFile()
    expectThrow(() => api.create(p, max + 1), { type: RangeError }, 'create(p, maxViewBytes + 1)')
    assert.not.ok(fs.existsSync(p), 'a file was left behind')
    expectThrow(() => api.create(p, 2 ** 50, Float64Array), { type: RangeError }, 'create(p, 2 ** 50, Float64Array)')
    assert.not.ok(fs.existsSync(p), 'a file was left behind')
    held('after the failed creates')
  })

  requires(s, 'posix-tools')(
    'a size the file system refuses (EFBIG under ulimit -f): an existing file keeps its bytes, a new one is removed',
    async () => {
      const existing = tmpFile()
      const old = pattern(1000)
      fs.writeFileSync(existing, old)
      const fresh = tmpFile()
      const r = await runChild(
        `${childPrelude(entry(ctx))}
const codes = []
for (const p of args) {
  try { m.create(p, 1 << 20); codes.push('created') } catch (e) { codes.push(e.code) }
}
report(codes)
`,
        { args: [existing, fresh], fileSizeLimit: 20 }
      )
      assert.equal(childReport<string[]>(r, 'create under ulimit -f'), ['EFBIG', 'EFBIG'])
      sameBytes(fileBytes(existing), old, 'the existing file after the refused create')
      assert.not.ok(fs.existsSync(fresh), 'the file the refused create made is gone')
    }
  )

  s('MAX_SAFE_INTEGER bytes: a RangeError beyond maxViewBytes, else a file-system error; no file is left', () => {
    const held = heldSnapshot()
    const p = tmpFile()
    const what = 'create(p, MAX_SAFE_INTEGER)'
    if (Number.MAX_SAFE_INTEGER > api.capabilities.maxViewBytes) {
      expectThrow(() => api.create(p, Number.MAX_SAFE_INTEGER), { type: RangeError }, what)
    } else {
      // the backend made the file, then could not size or map it: it must remove it again
      const e: any = expectThrow(() => api.create(p, Number.MAX_SAFE_INTEGER), { type: Error, path: p }, what)
      assert.ok(['EFBIG', 'ENOMEM', 'EINVAL', 'ENOSPC'].includes(e.code), `${what}: code ${e.code}`)
      assert.type(e.syscall, 'string', `${what}: syscall`)
      assert.ok(e.message.startsWith(`mmapfile.create: ${e.code}: `), `${what}: message ${e.message}`)
    }
    assert.not.ok(fs.existsSync(p), 'a file was left behind')
    held('after the failed create')
  })
}
