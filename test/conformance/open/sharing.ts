// open(): views that share a file, with each other and with other processes.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { entry } from '../ctx'
import type { Ctx } from '../ctx'
import {
  assertChildOk,
  heldSnapshot,
  childPrelude,
  childReport,
  fileBytes,
  fileWith,
  pattern,
  runChild,
  sameBytes,
  writeAt
} from '../../helpers'

/** 'r' views: their writes stay in memory. */
export function readOnlyViews(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE

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
}

/** 'rw' views of one file, in this process and others; many views at once. */
export function sharedViews(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE

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
}
