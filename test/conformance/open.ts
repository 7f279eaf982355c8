// open(path, type?, mode?, options?): modes, element types, windows at any offset, errors.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'
import { TYPED_ARRAYS, entry } from './ctx'
import type { Ctx } from './ctx'
import {
  assertChildOk,
  heldSnapshot,
  bytesOf,
  childPrelude,
  childReport,
  expectThrow,
  fileBytes,
  fileWith,
  pattern,
  runChild,
  sameBytes,
  tmpDir,
  writeAt
} from '../helpers'
import { requires } from '../helpers'

export default function register(ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const s = suite(`${ctx.label} open`)

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

  // --- happy path
  s("open(path) maps the whole file read-only as a Uint8Array, mode 'r'", () => {
    const bytes = pattern(1000)
    const p = fileWith(bytes)
    const v = api.open(p)
    assert.instance(v, Uint8Array)
    assert.is(v.length, 1000)
    sameBytes(v, bytes, 'view')
    assert.is(api.info(v).mode, 'r')
    api.close(v)
    const w = api.open(p, undefined, undefined, { offset: 10 })
    assert.is(w.length, 990)
    assert.is(api.info(w).mode, 'r', 'mode undefined is r')
    sameBytes(w, bytes.subarray(10), 'window')
    api.close(w)
  })

  for (const T of TYPED_ARRAYS) {
    s(`${T.name}: floor(length / elementSize) elements, read as ${T.name}`, () => {
      const size = 3 * T.BYTES_PER_ELEMENT + (T.BYTES_PER_ELEMENT > 1 ? T.BYTES_PER_ELEMENT - 1 : 0)
      const bytes = pattern(size, 7)
      const p = fileWith(bytes)
      for (const mode of ['r', 'rw']) {
        const v = api.open(p, T, mode)
        assert.instance(v, T)
        assert.is(v.length, 3, `${mode}: elements of a ${size}-byte file`)
        const expected = new T(bytes.slice(0, 3 * T.BYTES_PER_ELEMENT).buffer)
        assert.equal(Array.from(v), Array.from(expected as any), `${mode}: values`)
        api.close(v)
      }
      sameBytes(fileBytes(p), bytes, 'the file after closing both')
    })
  }

  s("'rw': writes reach the file; bytes past the last whole element are untouched", () => {
    const bytes = pattern(11)
    const p = fileWith(bytes)
    const v = api.open(p, Int32Array, 'rw')
    assert.is(v.length, 2)
    v[0] = -1
    v[1] = 0x01020304
    api.close(v)
    const expected = bytes.slice()
    expected.set([255, 255, 255, 255, 4, 3, 2, 1], 0)
    sameBytes(fileBytes(p), expected, 'file')
  })

  const offsetsOf = (): number[] => [1, 3, 4095, 4097, PAGE - 1, PAGE + 3, 2 * PAGE, 2 * PAGE + 1]
  for (const T of [Uint8Array, Int32Array, Float64Array, BigUint64Array, Uint16Array] as const) {
    s(`${T.name}: windows at unaligned offsets, with and without length, read the right bytes`, () => {
      const size = 4 * PAGE + 123
      const bytes = pattern(size, 11)
      const p = fileWith(bytes)
      const E = T.BYTES_PER_ELEMENT
      for (const offset of offsetsOf()) {
        for (const length of [undefined, 1, 9, 24, PAGE + 5]) {
          const len = length ?? size - offset
          const v = api.open(p, T, 'r', length === undefined ? { offset } : { offset, length })
          const what = `{ offset: ${offset}, length: ${String(length)} }`
          assert.instance(v, T)
          assert.is(v.length, Math.floor(len / E), `${what}: elements`)
          sameBytes(bytesOf(v), bytes.subarray(offset, offset + v.length * E), `${what}: bytes`)
          if (v.length > 0) {
            const dv = new DataView(bytes.buffer, offset)
            if (T === Int32Array) assert.is(v[0], dv.getInt32(0, true), `${what}: first value`)
            if (T === Float64Array)
              assert.is(
                Object.is(v[0], dv.getFloat64(0, true)) || (Number.isNaN(v[0]) && Number.isNaN(dv.getFloat64(0, true))),
                true,
                `${what}: first value`
              )
            if (T === BigUint64Array)
              assert.is(v[v.length - 1], dv.getBigUint64((v.length - 1) * 8, true), `${what}: last value`)
          }
          api.close(v)
        }
      }
    })
  }

  s("'rw' windows at unaligned offsets write exactly their bytes", () => {
    const size = 4 * PAGE + 123
    const bytes = pattern(size, 13)
    const p = fileWith(bytes)
    const expected = bytes.slice()
    for (const offset of offsetsOf()) {
      for (const length of [undefined, 1, 8, 100, PAGE + 5]) {
        const len = length ?? size - offset
        const v = api.open(p, Int16Array, 'rw', length === undefined ? { offset } : { offset, length })
        assert.is(v.length, Math.floor(len / 2))
        const b = bytesOf(v)
        for (let i = 0; i < b.length; i++) b[i] = (b[i] + offset + i) & 0xff
        for (let i = 0; i < b.length; i++) expected[offset + i] = (expected[offset + i] + offset + i) & 0xff
        api.close(v)
        sameBytes(
          fileBytes(p),
          expected,
          `file after writing the window { offset: ${offset}, length: ${String(length)} }`
        )
      }
    }
  })

  s('an offset equal to the file size gives an empty view; so does length 0', () => {
    const p = fileWith(100)
    for (const mode of ['r', 'rw']) {
      for (const opts of [
        { offset: 100 },
        { offset: 100, length: 0 },
        { offset: 0, length: 0 },
        { offset: 37, length: 0 }
      ]) {
        const v = api.open(p, Float64Array, mode, opts)
        assert.instance(v, Float64Array)
        assert.is(v.length, 0, `${mode} ${JSON.stringify(opts)}`)
        api.sync(v)
        api.close(v)
      }
      const w = api.open(p, Float64Array, mode, { offset: 95 })
      assert.is(w.length, 0, `${mode}: 5 bytes hold no f64`)
      api.close(w)
    }
    assert.is(fileBytes(p).length, 100)
  })

  s('an empty file gives an empty view, in both modes and for a struct type', () => {
    const p = fileWith(new Uint8Array(0))
    const T = api.struct({ a: 'i32' })
    for (const mode of ['r', 'rw']) {
      const v = api.open(p, Uint8Array, mode)
      assert.is(v.length, 0, mode)
      api.close(v)
      const sv = api.open(p, T, mode)
      assert.is(sv.length, 0, `${mode}: struct`)
      assert.is(sv.at(0), undefined)
      api.close(sv)
    }
    assert.is(fileBytes(p).length, 0)
  })

  s('accepts a file: URL and a relative path', () => {
    const bytes = pattern(50)
    const p = fileWith(bytes)
    const v = api.open(pathToFileURL(p))
    sameBytes(v, bytes, 'through a URL')
    api.close(v)
    const w = api.open(path.relative(process.cwd(), p), Uint8Array, 'rw')
    sameBytes(w, bytes, 'through a relative path')
    api.close(w)
  })

  s("'r' views: writes stay in memory, never reach the file, never crash (child process)", async () => {
    const bytes = pattern(3 * PAGE + 77, 5)
    const p = fileWith(bytes)
    const r = await runChild(
      childPrelude(entry(ctx)) +
        `
const [p] = args
const orig = new Uint8Array(fs.readFileSync(p))
const out = {}
for (const opts of [undefined, { offset: 1 }, { offset: ${PAGE + 3}, length: 100 }]) {
  const v = m.open(p, Uint8Array, 'r', opts)
  const off = opts?.offset ?? 0
  for (let i = 0; i < v.length; i++) v[i] = orig[off + i] ^ 0xff
  let kept = true
  for (let i = 0; i < v.length; i++) if (v[i] !== (orig[off + i] ^ 0xff)) kept = false
  out[JSON.stringify(opts ?? null)] = kept
  m.sync(v)
  m.close(v)
}
const f = m.open(p, Float64Array, 'r', { offset: 3 })
f.fill(1.5)
out.f64 = f.every((x) => x === 1.5)
m.close(f)
const S = m.struct({ a: 'i32', b: ['u8', 4] })
const sv = m.open(p, S)
sv.at(0).a = 42; sv.at(-1).b[3] = 9
out.struct = sv.at(0).a === 42 && sv.at(-1).b[3] === 9
m.close(sv)
report(out)
`,
      { args: [p] }
    )
    assertChildOk(r, "writes to 'r' views")
    const out = childReport(r, "writes to 'r' views")
    for (const [k, kept] of Object.entries(out))
      assert.is(kept, true, `${k}: the written values read back from the 'r' view`)
    sameBytes(fileBytes(p), bytes, "the file after writes to 'r' views")
  })

  s("'r' writes never reach the file even while an 'rw' view and a later open exist", () => {
    const bytes = pattern(2 * PAGE, 8)
    const p = fileWith(bytes)
    const rw = api.open(p, Uint8Array, 'rw')
    const later = api.open(p)
    assert.is(later[5], bytes[5])
    api.close(later)
    api.close(rw)
    sameBytes(fileBytes(p), bytes, 'file')
  })

  s("'rw' views of one file: coherent at once (native) or from sync/close on (wasm)", () => {
    const bytes = pattern(3 * PAGE, 21)
    const p = fileWith(bytes)
    const coherent: boolean = api.capabilities.coherent
    assert.is(coherent, ctx.backend === 'native', 'capabilities.coherent')
    const a = api.open(p, Uint8Array, 'rw')
    const b = api.open(p, Uint8Array, 'rw')
    const x = bytes[5] ^ 0x5a
    a[5] = x
    if (coherent) {
      assert.is(b[5], x, 'the other view sees the write at once')
      assert.is(fileBytes(p)[5], x, 'the file sees the write at once')
      writeAt(p, 2 * PAGE + 1, new Uint8Array([bytes[2 * PAGE + 1] ^ 1]))
      assert.is(a[2 * PAGE + 1], bytes[2 * PAGE + 1] ^ 1, 'a view sees a write to the file at once')
    } else {
      assert.is(b[5], bytes[5], 'the other view does not see an unsynced write')
      const snapshot = api.open(p)
      api.sync(a)
      assert.is(fileBytes(p)[5], x, 'the file has the write after sync')
      assert.is(b[5], x, "an open 'rw' view of the file in this process shows the write once it was synced")
      assert.is(snapshot[5], bytes[5], "an 'r' view stays the snapshot it was at open")
      const c = api.open(p)
      assert.is(c[5], x, 'a view opened after sync sees it')
      api.close(c)
      api.close(snapshot)
    }
    api.close(b)
    api.close(a)
    assert.is(fileBytes(p)[5], x, 'closing the other view did not overwrite the write')
  })

  s("'rw' views and other processes: seen at once when coherent, not before reopening otherwise", async () => {
    const bytes = pattern(PAGE, 22)
    const p = fileWith(bytes)
    const v = api.open(p, Uint8Array, 'rw')
    const r = await runChild(
      childPrelude(entry(ctx)) +
        `
const v = m.open(args[0], Uint8Array, 'rw')
v[7] = ${bytes[7] ^ 0xff}
m.close(v)
report({ ok: true })
`,
      { args: [p] }
    )
    assertChildOk(r, 'the writing child')
    if (api.capabilities.coherent) assert.is(v[7], bytes[7] ^ 0xff, "the open view sees the other process's write")
    else assert.is(v[7], bytes[7], 'an open wasm view does not see changes made after it was opened')
    api.close(v)
    assert.is(fileBytes(p)[7], bytes[7] ^ 0xff, "the untouched view did not overwrite the other process's write")
  })

  s('many views of one file at once, in both modes, closed in any order', () => {
    const held = heldSnapshot()
    const bytes = pattern(PAGE + 9, 3)
    const p = fileWith(bytes)
    const views = []
    for (let i = 0; i < 20; i++) views.push(api.open(p, Uint8Array, i % 2 === 0 ? 'r' : 'rw', { offset: i }))
    for (const [i, v] of views.entries()) sameBytes(v, bytes.subarray(i), `view ${i}`)
    for (const i of [3, 0, 19, 7, 1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]) api.close(views[i])
    for (const v of views) assert.is(v.length, 0)
    sameBytes(fileBytes(p), bytes, 'file')
    held('after closing every view')
  })

  s.run()
}
