// advise(view, advice): a hint that never changes what a view holds.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
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
  sameBytes,
  tmpFile
} from '../helpers'

const ADVICE = ['normal', 'sequential', 'random', 'willneed', 'dontneed']

export default function register(ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const s = suite(`${ctx.label} advise`)

  s('is a function', () => {
    assert.type(api.advise, 'function')
  })

  s('an unknown advice is a TypeError', () => {
    const v = api.create(tmpFile(), 10)
    try {
      for (const advice of ['bogus', '', 'NORMAL', 'free', 'hugepage', 4, undefined, null, {}]) {
        expectThrow(() => api.advise(v, advice), { type: TypeError }, `advise(view, ${JSON.stringify(advice)})`)
      }
    } finally {
      api.close(v)
    }
  })

  s('advise of something that is not a view is a TypeError', () => {
    for (const [name, value] of [
      ['undefined', undefined],
      ['{}', {}],
      ['a plain Uint8Array', new Uint8Array(2)]
    ] as Array<[string, unknown]>) {
      expectThrow(() => api.advise(value, 'normal'), { type: TypeError }, `advise(${name}, 'normal')`)
    }
  })

  s("every advice keeps the bytes of created and 'rw' views, in memory and in the file", () => {
    const size = 5 * PAGE + 3
    const p = tmpFile()
    const v = api.create(p, size)
    const data = pattern(size, 31)
    v.set(data)
    const q = fileWith(pattern(size, 32))
    const w = api.open(q, Uint8Array, 'rw', { offset: 1 })
    const wdata = pattern(size - 1, 33)
    w.set(wdata)
    for (const advice of ADVICE) {
      assert.is(api.advise(v, advice), undefined)
      sameBytes(v, data, `created view after '${advice}'`)
      api.advise(w, advice)
      sameBytes(w, wdata, `'rw' window after '${advice}'`)
    }
    api.close(v)
    api.close(w)
    sameBytes(fileBytes(p), data, 'file of the created view')
    sameBytes(fileBytes(q).subarray(1), wdata, 'file of the window')
  })

  s('every advice on empty views and struct views', () => {
    const e = api.create(tmpFile(), 0)
    for (const advice of ADVICE) api.advise(e, advice)
    api.close(e)
    const T = api.struct({ a: 'u64' })
    const sv = api.malloc(3, T)
    sv.at(2).a = 5n
    for (const advice of ADVICE) api.advise(sv, advice)
    assert.is(sv.at(2).a, 5n)
    api.free(sv)
  })

  s("'dontneed' keeps what was written to 'r' and malloc views (child process)", async () => {
    const bytes = pattern(4 * PAGE, 34)
    const p = fileWith(bytes)
    const r = await runChild(
      childPrelude(entry(ctx)) +
        `
const out = {}
const check = (name, v, expected) => {
  let ok = true
  for (const advice of ['normal', 'sequential', 'random', 'willneed', 'dontneed', 'dontneed']) {
    m.advise(v, advice)
    for (let i = 0; i < v.length; i++) if (v[i] !== expected[i]) { ok = false; break }
  }
  out[name] = ok
}
const r = m.open(args[0], Uint8Array, 'r')
r.fill(0x5a)
check('r', r, new Uint8Array(r.length).fill(0x5a))
const rw = m.open(args[0], Uint8Array, 'r', { offset: ${PAGE + 1}, length: ${2 * PAGE} })
rw[0] = 1; rw[${2 * PAGE - 1}] = 2
const exp = new Uint8Array(fs.readFileSync(args[0])).subarray(${PAGE + 1}, ${3 * PAGE + 1}).slice(); exp[0] = 1; exp[${2 * PAGE - 1}] = 2
check('r window', rw, exp)
const mm = m.malloc(${4 * PAGE})
mm.fill(0x77)
check('malloc', mm, new Uint8Array(mm.length).fill(0x77))
const big = m.malloc(${64 * PAGE}, Float64Array)
big.fill(1.5)
check('malloc f64', big, new Float64Array(big.length).fill(1.5))
m.close(r); m.close(rw); m.free(mm); m.free(big)
report(out)
`,
      { args: [p] }
    )
    assertChildOk(r, "advise on 'r' and malloc views")
    const out = childReport(r, "advise on 'r' and malloc views")
    for (const name of ['r', 'r window', 'malloc', 'malloc f64'])
      assert.is(out[name], true, `${name}: bytes after every advice`)
    sameBytes(fileBytes(p), bytes, "the file after writes to 'r' views")
  })

  s.run()
}
