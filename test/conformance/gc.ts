// gccreate, gcopen, gcmalloc: closed (or freed) once the view is collected; explicit close wins.
// Each case runs in a child process under --expose-gc, dropping the view and calling gc() until
// the effect shows (or for a fixed number of rounds, where the test is that nothing happens).
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { entry } from './ctx'
import type { Ctx } from './ctx'
import {
  assertChildOk,
  childPrelude,
  childReport,
  expectThrow,
  fileBytes,
  fileWith,
  pattern,
  runChild,
  tmpFile
} from '../helpers'
import { requires } from '../helpers'
import type { Need } from '../helpers'

/** The child's prelude: the entry under test, and the descriptors of a file. */
function gcPrelude(ctx: Ctx): string {
  return (
    childPrelude(entry(ctx)) +
    `
const fdsOf = (p) => fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) === p } catch { return false } })
`
  )
}

export default function register(ctx: Ctx): void {
  // ---------------------------------------------------------------------------------------------
  const c = suite(`${ctx.label} gccreate`)
  gccreateErrorsAndCollection(c, ctx)
  gccreateCloseAndResize(c, ctx)
  c.run()

  // ---------------------------------------------------------------------------------------------
  const o = suite(`${ctx.label} gcopen`)
  gcopenTests(o, ctx)
  o.run()

  // ---------------------------------------------------------------------------------------------
  const g = suite(`${ctx.label} gcmalloc`)
  gcmallocTests(g, ctx)
  g.run()
}

/** gccreate: its errors, and a view written back and released once collected. */
function gccreateErrorsAndCollection(c: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const native = ctx.backend === 'native'
  const prelude = gcPrelude(ctx)
  c('is a function', () => {
    assert.type(api.gccreate, 'function')
  })

  c('bad arguments as for create, and no file is left', () => {
    const p = tmpFile()
    expectThrow(() => api.gccreate(p, -1), { type: RangeError }, 'gccreate(p, -1)')
    expectThrow(() => api.gccreate(p, '1'), { type: TypeError }, "gccreate(p, '1')")
    expectThrow(() => api.gccreate(p, 1, DataView), { type: TypeError }, 'gccreate(p, 1, DataView)')
    expectThrow(
      () => api.gccreate(p, 1, Uint8Array, new Uint8Array(2)),
      { type: RangeError },
      'gccreate(p, 1, Uint8Array, 2 bytes)'
    )
    assert.not.ok(fs.existsSync(p), 'a file was left behind')
    const e = expectThrow(() => api.gccreate(`${p}/x`, 1), { type: Error, code: 'ENOENT' }, 'gccreate(<missing dir>)')
    assert.ok(e.message.startsWith('mmapfile.gccreate: ENOENT'), e.message)
  })

  c("a view that works like create's until it is collected", () => {
    const p = tmpFile()
    const v = api.gccreate(p, 4, Int32Array, new Int32Array([1, 2, 3, 4]))
    assert.instance(v, Int32Array)
    assert.equal(Array.from(v), [1, 2, 3, 4])
    assert.is(api.info(v).mode, 'rw')
    v[3] = 40
    api.sync(v)
    assert.equal(Array.from(new Int32Array(fileBytes(p).buffer)), [1, 2, 3, 40])
    api.close(v)
  })

  requires(c, 'child-proc')(
    'once collected, the data is in the file and the mapping and descriptor are gone',
    async () => {
      const p = tmpFile()
      const r = await runChild(
        `${prelude}
const p = args[0]
;(() => {
  const v = m.gccreate(p, ${2 * PAGE})
  v[0] = 1; v[${PAGE}] = 2; v[${2 * PAGE - 1}] = 3
})()
;(() => {
  const T = m.struct({ a: 'i32', b: 'f64' })
  const s = m.gccreate(p + '.s', 2, T)
  s.at(1).b = 2.5
})()
await collectUntil(() => [p, p + '.s'].every((q) => fdsOf(q).length === 0 && maps(q).length === 0))
const bytes = new Uint8Array(fs.readFileSync(p))
report({ maps: maps(p).length, fds: fdsOf(p).length, a: bytes[0], b: bytes[${PAGE}], c: bytes[${2 * PAGE - 1}], s: new DataView(new Uint8Array(fs.readFileSync(p + '.s')).buffer).getFloat64(24, true), smaps: maps(p + '.s').length })
`,
        { args: [p] }
      )
      assertChildOk(r, 'gccreate, drop, gc')
      const out = childReport(r, 'gccreate, drop, gc')
      assert.equal([out.a, out.b, out.c], [1, 2, 3], 'the data was in the file before the child exited')
      assert.is(out.s, 2.5, "a struct view's data was in the file before the child exited")
      assert.is(out.fds, 0, 'descriptors of the file after collection')
      if (native) {
        assert.is(out.maps, 0, 'mappings of the file after collection')
        assert.is(out.smaps, 0, 'mappings of the struct file after collection')
      }
      const bytes = fileBytes(p)
      assert.equal([bytes[0], bytes[PAGE], bytes[2 * PAGE - 1]], [1, 2, 3], 'file after the child')
    }
  )
}

/** gccreate: an explicit close, and a resize, carry the automatic close. */
function gccreateCloseAndResize(c: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const native = ctx.backend === 'native'
  const prelude = gcPrelude(ctx)
  c('explicit close stops the automatic one: no second close, no error, no stale write-back', async () => {
    const p = tmpFile()
    const r = await runChild(
      `${prelude}
const p = args[0]
let w
;(() => {
  const v = m.gccreate(p, ${PAGE})
  v.fill(1)
  m.close(v)
  m.close(v)
  // another writer changes the file, and a new view maps it (perhaps at the same address)
  fs.writeFileSync(p, new Uint8Array(${PAGE}).fill(2))
  w = m.open(p, Uint8Array, 'rw')
})()
await collect(10)
let ok = true
for (let i = 0; i < w.length; i++) if (w[i] !== 2) ok = false
w[5] = 7
m.close(w)
const bytes = new Uint8Array(fs.readFileSync(p))
report({ ok, length: w.length, five: bytes[5], rest: bytes.every((x, i) => i === 5 || x === 2) })
`,
      { args: [p] }
    )
    assertChildOk(r, 'gccreate, close, drop, gc')
    const out = childReport(r, 'gccreate, close, drop, gc')
    assert.is(out.ok, true, 'the later view still reads the file after the first view was collected')
    assert.is(out.five, 7)
    assert.is(out.rest, true, 'the closed view did not write its stale bytes back when collected')
  })

  requires(c, 'child-proc')('resize carries the automatic close over to the new view', async () => {
    const p = tmpFile()
    const r = await runChild(
      `${prelude}
const p = args[0]
;(() => {
  const v = m.gccreate(p, 4)
  v[0] = 1
  const w = m.resize(v, ${PAGE + 8})
  w[${PAGE + 7}] = 9
})()
await collectUntil(() => fdsOf(p).length === 0 && maps(p).length === 0)
const bytes = new Uint8Array(fs.readFileSync(p))
report({ size: bytes.length, first: bytes[0], last: bytes[${PAGE + 7}], maps: maps(p).length, fds: fdsOf(p).length })
`,
      { args: [p] }
    )
    assertChildOk(r, 'gccreate, resize, drop, gc')
    const out = childReport(r, 'gccreate, resize, drop, gc')
    assert.is(out.size, PAGE + 8, 'file size')
    assert.is(out.first, 1)
    assert.is(out.last, 9, 'the resized view was written back when collected')
    assert.is(out.fds, 0, 'descriptors after collection')
    if (native) assert.is(out.maps, 0, 'mappings after collection')
  })
}

/** gcopen: as open, written back once collected. */
function gcopenTests(o: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const native = ctx.backend === 'native'
  const prelude = gcPrelude(ctx)

  o('is a function', () => {
    assert.type(api.gcopen, 'function')
  })

  o('bad arguments as for open', () => {
    const p = fileWith(10)
    expectThrow(() => api.gcopen(p, Uint8Array, 'w'), { type: TypeError }, "gcopen(p, Uint8Array, 'w')")
    expectThrow(() => api.gcopen(p, Uint8Array, 'r', { offset: 11 }), { type: RangeError }, 'gcopen(p, { offset: 11 })')
    const e = expectThrow(
      () => api.gcopen(`${p}.missing`),
      { type: Error, code: 'ENOENT', syscall: 'open', path: `${p}.missing` },
      'gcopen(<missing>)'
    )
    assert.is(e.message, `mmapfile.gcopen: ENOENT: no such file or directory, open '${p}.missing'`)
  })

  requires(o, 'child-proc')("'rw' windows are written back once collected; 'r' views are released", async () => {
    // The two 'rw' views change different write-back granules: views that share one (wasm: 64 KiB)
    // each write it back whole, so the last one collected would win, in an order the engine picks.
    const G = Math.max(api.capabilities.writeBackGranularity, PAGE)
    const bytes = pattern(2 * G + PAGE, 9)
    const p = fileWith(bytes)
    const r = await runChild(
      `${prelude}
const p = args[0]
;(() => {
  const v = m.gcopen(p, Uint8Array, 'rw', { offset: ${PAGE + 1}, length: 10 })
  v[0] = 0xab
  const w = m.gcopen(p, Uint8Array, 'r')
  w[0] = 0xcd
  const x = m.gcopen(p, Float64Array, 'rw', { offset: ${G + 3} })
  x[0] = 0.5
})()
await collectUntil(() => fdsOf(p).length === 0 && maps(p).length === 0)
const bytes = new Uint8Array(fs.readFileSync(p))
report({ win: bytes[${PAGE + 1}], first: bytes[0], f64: new DataView(bytes.buffer).getFloat64(${G + 3}, true), maps: maps(p).length, fds: fdsOf(p).length })
`,
      { args: [p] }
    )
    assertChildOk(r, 'gcopen, drop, gc')
    const out = childReport(r, 'gcopen, drop, gc')
    assert.is(out.win, 0xab, "the 'rw' window's write was in the file after collection")
    assert.is(out.f64, 0.5, "the 'rw' Float64Array's write was in the file after collection")
    assert.is(out.first, bytes[0], "the 'r' view's write did not reach the file")
    assert.is(out.fds, 0, 'descriptors after collection')
    if (native) assert.is(out.maps, 0, 'mappings after collection')
  })

  o('explicit close stops the automatic one', async () => {
    const p = fileWith(PAGE)
    const r = await runChild(
      `${prelude}
const p = args[0]
;(() => { const v = m.gcopen(p, Uint8Array, 'rw'); v[0] = 1; m.close(v) })()
fs.writeFileSync(p, new Uint8Array(${PAGE}).fill(4))
await collect(10)
report({ first: fs.readFileSync(p)[0] })
`,
      { args: [p] }
    )
    assertChildOk(r, 'gcopen, close, drop, gc')
    assert.is(childReport(r, 'gcopen, close, drop, gc').first, 4, 'no stale write-back after the explicit close')
  })
}

/** gcmalloc: as malloc, released once collected. */
function gcmallocTests(g: Test, ctx: Ctx): void {
  const api: any = ctx.api
  // wasm: thousands of WebAssembly memories, which an emulator may not hold (test/needs.ts)
  const manyMemories: Need[] = ctx.backend === 'wasm' ? ['wasm-memories'] : []
  const prelude = gcPrelude(ctx)

  g('is a function', () => {
    assert.type(api.gcmalloc, 'function')
  })

  g('bad arguments as for malloc', () => {
    expectThrow(() => api.gcmalloc(-1), { type: RangeError }, 'gcmalloc(-1)')
    expectThrow(() => api.gcmalloc('1'), { type: TypeError }, "gcmalloc('1')")
    expectThrow(() => api.gcmalloc(1, Object), { type: TypeError }, 'gcmalloc(1, Object)')
  })

  g('zero-filled memory like malloc; free works on it', () => {
    const m = api.gcmalloc(10, Float32Array)
    assert.instance(m, Float32Array)
    assert.equal(Array.from(m), new Array(10).fill(0))
    assert.is(api.info(m).path, null)
    api.free(m)
    assert.is(m.length, 0)
  })

  requires(
    g,
    'child-proc',
    ...manyMemories
  )('collected views are freed: 5 GiB of 64 MiB gcmalloc views in turn fit', async () => {
    const r = await runChild(
      `${prelude}
const status = () => Number(/VmSize:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024
const view = (i) => { const v = m.gcmalloc(64 * 1024 * 1024); v[i] = 1; v[v.length - 1] = 1 }
// The first views may make the runtime reserve for good what later ones reuse (JavaScriptCore
// keeps a 4 GiB region after the second wasm memory): measure after them.
for (let i = 0; i < 4; i++) { view(i); await collect(2) }
const before = status()
for (let i = 0; i < 80; i++) { view(i); await collect(2) }
// what is only waiting for the collector comes back; leaked views never do
await collectUntil(() => status() - before < 2 ** 31)
report({ grown: status() - before })
`,
      { timeoutMs: 600_000 }
    )
    assertChildOk(r, '80 gcmalloc views of 64 MiB, each dropped')
    const { grown } = childReport(r, '80 gcmalloc views')
    // 80 leaked views would be 5 GiB (native) or 80 memory reservations of ~10 GiB each (wasm)
    assert.ok(grown < 2 ** 31, `VmSize grew by ${Math.round(grown / 2 ** 20)} MiB: collected views were not freed`)
  })

  g('explicit free stops the automatic one (no double free)', async () => {
    const r = await runChild(`${prelude}
let keep
;(() => {
  const v = m.gcmalloc(4096)
  v.fill(1)
  m.free(v)
  keep = m.malloc(4096)
  keep.fill(2)
})()
await collect(10)
const others = Array.from({ length: 8 }, () => { const x = m.malloc(4096); x.fill(3); return x })
report({ ok: keep.length === 4096 && keep.every((x) => x === 2), others: others.every((x) => x.every((y) => y === 3)) })
`)
    assertChildOk(r, 'gcmalloc, free, drop, gc')
    const out = childReport(r, 'gcmalloc, free, drop, gc')
    assert.is(out.ok, true, 'memory allocated after the explicit free kept its bytes after the collection')
    assert.is(out.others, true, 'later allocations are intact')
  })
}
