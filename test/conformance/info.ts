// info(view), PAGE_SIZE, capabilities, backend and backendError.
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as path from 'node:path'
import { execFileSync } from 'node:child_process'
import { constants } from 'node:buffer'
import { pathToFileURL } from 'node:url'
import type { Ctx } from './ctx'
import { expectThrow, fileWith, tmpFile } from '../helpers'
import { requires } from '../helpers'

const MAX_LENGTH = constants.MAX_LENGTH

export default function register(ctx: Ctx): void {
  // ---------------------------------------------------------------------------------------------
  const s = suite(`${ctx.label} info`)
  infoTests(s, ctx)
  s.run()

  // ---------------------------------------------------------------------------------------------
  const pg = suite(`${ctx.label} PAGE_SIZE`)
  pageSizeTests(pg, ctx)
  pg.run()

  // ---------------------------------------------------------------------------------------------
  const cap = suite(`${ctx.label} capabilities`)
  capabilitiesTests(cap, ctx)
  cap.run()

  // ---------------------------------------------------------------------------------------------
  const b = suite(`${ctx.label} backend`)
  backendTests(b, ctx)
  b.run()
}

/** info(view): what it says of every kind of view. */
function infoTests(s: Test, ctx: Ctx): void {
  const api: any = ctx.api

  s('is a function', () => {
    assert.type(api.info, 'function')
  })

  s('info of something that is not a view is a TypeError', () => {
    for (const [name, value] of [
      ['undefined', undefined],
      ['{}', {}],
      ['a plain Uint8Array', new Uint8Array(2)],
      ['a string', 'x']
    ] as Array<[string, unknown]>) {
      expectThrow(() => api.info(value), { type: TypeError }, `info(${name})`)
    }
  })

  s("create: absolute path, mode 'rw', offset 0, byteLength, backend", () => {
    const p = tmpFile()
    const rel = path.relative(process.cwd(), p)
    const v = api.create(rel, 5, Float64Array)
    assert.equal(api.info(v), { path: p, mode: 'rw', offset: 0, byteLength: 40, backend: ctx.backend })
    api.close(v)
  })

  s("open: 'r' and 'rw' windows report their offset and byteLength; file: URLs give the path", () => {
    const PAGE: number = api.PAGE_SIZE
    const p = fileWith(3 * PAGE)
    const cases: Array<[string, object | undefined, number, number]> = [
      ['r', undefined, 0, 3 * PAGE],
      ['rw', { offset: 7 }, 7, 3 * PAGE - 7],
      ['r', { offset: PAGE + 1, length: 16 }, PAGE + 1, 16],
      ['rw', { offset: 3 * PAGE }, 3 * PAGE, 0]
    ]
    for (const [mode, opts, offset, byteLength] of cases) {
      const v = api.open(pathToFileURL(p), Uint8Array, mode, opts)
      assert.equal(
        api.info(v),
        { path: p, mode, offset, byteLength, backend: ctx.backend },
        `${mode} ${JSON.stringify(opts)}`
      )
      api.close(v)
    }
    const w = api.open(p, Int32Array, 'r', { offset: 4, length: 8 })
    assert.equal(
      api.info(w),
      { path: p, mode: 'r', offset: 4, byteLength: 8, backend: ctx.backend },
      'Int32Array window'
    )
    api.close(w)
    const T = api.struct({ a: 'i32', b: 'f64' })
    const sv = api.open(p, T, 'rw', { offset: 1, length: 32 })
    assert.equal(
      api.info(sv),
      { path: p, mode: 'rw', offset: 1, byteLength: 32, backend: ctx.backend },
      'struct window'
    )
    api.close(sv)
  })

  s("malloc: path null, mode 'rw', offset 0", () => {
    const m = api.malloc(6, Uint16Array)
    assert.equal(api.info(m), { path: null, mode: 'rw', offset: 0, byteLength: 12, backend: ctx.backend })
    api.free(m)
    const g = api.gcmalloc(3)
    assert.equal(api.info(g), { path: null, mode: 'rw', offset: 0, byteLength: 3, backend: ctx.backend })
    api.free(g)
  })

  s('gccreate and gcopen report like create and open', () => {
    const p = tmpFile()
    const v = api.gccreate(p, 2)
    assert.equal(api.info(v), { path: p, mode: 'rw', offset: 0, byteLength: 2, backend: ctx.backend })
    api.close(v)
    const w = api.gcopen(p, Uint8Array, 'r', { offset: 1 })
    assert.equal(api.info(w), { path: p, mode: 'r', offset: 1, byteLength: 1, backend: ctx.backend })
    api.close(w)
  })
}

/** PAGE_SIZE. */
function pageSizeTests(pg: Test, ctx: Ctx): void {
  const api: any = ctx.api

  requires(pg, 'posix-tools')('is the system page size', () => {
    const expected = Number(execFileSync('getconf', ['PAGE_SIZE'], { encoding: 'utf8' }).trim())
    assert.is(api.PAGE_SIZE, expected)
    assert.ok(Number.isInteger(api.PAGE_SIZE) && (api.PAGE_SIZE & (api.PAGE_SIZE - 1)) === 0, 'a power of two')
  })
}

/** capabilities. */
function capabilitiesTests(cap: Test, ctx: Ctx): void {
  const api: any = ctx.api

  cap('has coherent, writeBackGranularity and maxViewBytes of the right kinds', () => {
    const c = api.capabilities
    assert.type(c, 'object')
    assert.type(c.coherent, 'boolean')
    assert.ok(
      Number.isSafeInteger(c.writeBackGranularity) && c.writeBackGranularity >= 1,
      `writeBackGranularity ${c.writeBackGranularity}`
    )
    assert.is(c.writeBackGranularity & (c.writeBackGranularity - 1), 0, 'writeBackGranularity is a power of two')
    assert.ok(Number.isSafeInteger(c.maxViewBytes) && c.maxViewBytes > 0, `maxViewBytes ${c.maxViewBytes}`)
  })

  cap('native: coherent, granularity 1; wasm: coherent only at sync, granularity the chunk, views under 4 GiB', () => {
    const c = api.capabilities
    if (ctx.backend === 'native') {
      assert.is(c.coherent, true)
      assert.is(c.writeBackGranularity, 1)
    } else {
      assert.is(c.coherent, false)
      assert.ok(c.writeBackGranularity > 1, `writeBackGranularity ${c.writeBackGranularity}`)
      assert.ok(c.maxViewBytes < 2 ** 32, `maxViewBytes ${c.maxViewBytes}`)
    }
  })

  cap('maxViewBytes is a view this runtime can hold: no larger than buffer.constants.MAX_LENGTH', () => {
    assert.ok(
      api.capabilities.maxViewBytes <= MAX_LENGTH,
      `maxViewBytes ${api.capabilities.maxViewBytes} > ${MAX_LENGTH}`
    )
  })
}

/** backend and backendError. */
function backendTests(b: Test, ctx: Ctx): void {
  const api: any = ctx.api

  b("backend names the entry's backend; backendError is null", () => {
    assert.is(api.backend, ctx.backend)
    assert.is(api.backendError, null)
  })

  b('the default export holds the same API as the named exports', () => {
    const names = [
      'create',
      'open',
      'close',
      'sync',
      'syncAsync',
      'malloc',
      'free',
      'gccreate',
      'gcopen',
      'gcmalloc',
      'resize',
      'advise',
      'info',
      'struct',
      'PAGE_SIZE',
      'capabilities',
      'backend',
      'backendError'
    ]
    for (const n of names) {
      assert.ok(n in api, `named export ${n}`)
      assert.is(api.default?.[n], api[n], `default.${n} === ${n}`)
    }
  })
}
