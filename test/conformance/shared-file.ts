// Several views of one file in one process: no call cuts the file under another live view. A
// shrinking resize below another view's window end, and create of a file with another non-empty
// view, fail with EBUSY and change nothing (native would otherwise die of SIGBUS when the other view
// is touched, so every case runs in a child process).
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { entry } from './ctx'
import type { Ctx } from './ctx'
import {
  assertChildOk,
  childPrelude,
  childReport,
  fileBytes,
  fileSize,
  fileWith,
  pattern,
  runChild,
  sameBytes
} from '../helpers'
import { requires } from '../helpers'

/** Child helpers: `attempt(fn)` gives 'ok' or the error's shape; `same(view, bytes)` compares. */
const helpers = `
const attempt = (fn) => {
  try { fn(); return 'ok' } catch (e) {
    return { name: e.name, code: e.code, syscall: e.syscall, path: e.path, message: e.message }
  }
}
const same = (view, bytes) => {
  const u8 = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
  if (u8.length !== bytes.length) return 'length ' + u8.length + ', expected ' + bytes.length
  for (let i = 0; i < bytes.length; i++) if (u8[i] !== bytes[i]) return 'byte ' + i + ' is ' + u8[i] + ', expected ' + bytes[i]
  return 'same'
}
const [p] = args
const data = new Uint8Array(fs.readFileSync(p))
`

function busy(fn: string, syscall: string, p: string): Record<string, unknown> {
  return {
    name: 'Error',
    code: 'EBUSY',
    syscall,
    path: p,
    message: `mmapfile.${fn}: EBUSY: resource busy or locked, ${syscall} '${p}'`
  }
}

/** Runs `source` after the helpers in a child process on the entry under test, with `p`; its report. */
function childRunner(ctx: Ctx): (what: string, p: string, source: string) => Promise<any> {
  return async function child(what: string, p: string, source: string): Promise<any> {
    const r = await runChild(childPrelude(entry(ctx)) + helpers + source, { args: [p] })
    assertChildOk(r, what)
    return childReport(r, what)
  }
}

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} one file, several views`)
  resizeBesideViews(s, ctx)
  createBesideViews(s, ctx)
  collectedAndWorkerViews(s, ctx)
  s.run()
}

/** A resize that would cut the file under another view. */
function resizeBesideViews(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const child = childRunner(ctx)
  s(
    "a shrinking resize below another view's window end is EBUSY; both views and the file unchanged (child process)",
    async () => {
      const size = 3 * PAGE
      const p = fileWith(pattern(size, 11))
      const out = await child(
        'shrinking under another view',
        p,
        `
const out = {}
for (const mode of ['r', 'rw']) {
  const v = m.open(p, Uint8Array, 'rw')
  const other = m.open(p, Uint8Array, mode, { offset: ${PAGE}, length: ${PAGE + 10} })
  const o = {}
  o.resize = attempt(() => m.resize(v, ${PAGE + 9}))
  other[other.length - 1] = other[other.length - 1] // past the cut: native died of SIGBUS here
  o.v = same(v, data)
  o.other = same(other, data.subarray(${PAGE}, ${2 * PAGE + 10}))
  o.size = fs.statSync(p).size
  m.close(other)
  m.close(v)
  out[mode] = o
}
report(out)
`
      )
      for (const mode of ['r', 'rw']) {
        assert.equal(
          out[mode],
          { resize: busy('resize', 'ftruncate', p), v: 'same', other: 'same', size },
          `other view '${mode}'`
        )
      }
      sameBytes(fileBytes(p), pattern(size, 11), 'the file')
    }
  )

  // Windows refuses to cut a file while another view of it is mapped at all (ERROR_USER_MAPPED_FILE),
  // even at that view's end: the case below then checks the refusal instead.
  const cutsBesideViews = ctx.backend === 'native' && process.platform === 'win32'
  ;(cutsBesideViews ? requires(s, 'posix-cut') : s)(
    "a resize that keeps another view's whole window works; after closing the other view, any resize does (child process)",
    async () => {
      const size = 3 * PAGE
      const p = fileWith(pattern(size, 12))
      const out = await child(
        'resize beside another view',
        p,
        `
const out = {}
let v = m.open(p, Uint8Array, 'rw')
const other = m.open(p, Uint8Array, 'r', { offset: 5, length: ${PAGE} })
v = m.resize(v, ${PAGE + 5}) // the cut is at the other view's end: allowed
out.cutAtEnd = { length: v.length, size: fs.statSync(p).size, other: same(other, data.subarray(5, ${PAGE + 5})) }
v = m.resize(v, ${4 * PAGE}) // growth from the end of the file cuts nothing
out.grown = { length: v.length, size: fs.statSync(p).size, other: same(other, data.subarray(5, ${PAGE + 5})) }
out.belowEnd = attempt(() => m.resize(v, ${PAGE + 4}))
out.afterRefusal = { length: v.length, size: fs.statSync(p).size, other: same(other, data.subarray(5, ${PAGE + 5})) }
m.close(other)
v = m.resize(v, 3)
out.afterClose = { length: v.length, size: fs.statSync(p).size, bytes: Array.from(v) }
m.close(v)
report(out)
`
      )
      assert.equal(
        out.cutAtEnd,
        { length: PAGE + 5, size: PAGE + 5, other: 'same' },
        'a cut at the end of the other window'
      )
      assert.equal(out.grown, { length: 4 * PAGE, size: 4 * PAGE, other: 'same' }, 'growth with another view open')
      assert.equal(out.belowEnd, busy('resize', 'ftruncate', p), 'a cut one byte into the other window')
      assert.equal(out.afterRefusal, { length: 4 * PAGE, size: 4 * PAGE, other: 'same' }, 'after the refusal')
      assert.equal(
        out.afterClose,
        { length: 3, size: 3, bytes: Array.from(pattern(size, 12).subarray(0, 3)) },
        'after closing the other view'
      )
    }
  )

  if (cutsBesideViews) {
    s(
      'Windows: any cut while another view of the file is mapped is EBUSY and changes nothing; once it is closed, the cut works (child process)',
      async () => {
        const p = fileWith(pattern(3 * PAGE, 12))
        const out = await child(
          'a cut beside another view on Windows',
          p,
          `
const out = {}
let v = m.open(p, Uint8Array, 'rw')
const other = m.open(p, Uint8Array, 'r', { offset: 5, length: ${PAGE} })
out.cut = attempt(() => m.resize(v, ${PAGE + 5}))
out.after = { length: v.length, size: fs.statSync(p).size, v: same(v, data), other: same(other, data.subarray(5, ${PAGE + 5})) }
m.close(other)
v = m.resize(v, 3)
out.afterClose = { length: v.length, size: fs.statSync(p).size }
m.close(v)
report(out)
`
        )
        assert.equal(out.cut, busy('resize', 'ftruncate', p), 'a cut at the end of the other window')
        assert.equal(out.after, { length: 3 * PAGE, size: 3 * PAGE, v: 'same', other: 'same' }, 'after the refusal')
        assert.equal(out.afterClose, { length: 3, size: 3 }, 'after closing the other view')
      }
    )
  }
}

/** create over a file that other views map. */
function createBesideViews(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const child = childRunner(ctx)
  s(
    "growing a window that ends before another view's end is EBUSY: growth first cuts what was past the window (child process)",
    async () => {
      const p = fileWith(pattern(1000, 13))
      const out = await child(
        'growing a window under another view',
        p,
        `
const other = m.open(p, Uint8Array, 'r', { offset: 150, length: 10 })
let v = m.open(p, Uint8Array, 'rw', { offset: 0, length: 100 })
const out = {}
out.grow = attempt(() => m.resize(v, 2000))
other[9] = other[9] // the other view is still whole
out.after = { v: same(v, data.subarray(0, 100)), other: same(other, data.subarray(150, 160)), size: fs.statSync(p).size }
out.grow2 = attempt(() => m.resize(v, 160)) // cuts at 100, below the other view's end 160
m.close(other)
v = m.resize(v, 160)
out.afterClose = { length: v.length, size: fs.statSync(p).size, tail: same(v.subarray(100), new Uint8Array(60)) }
report(out)
`
      )
      assert.equal(out.grow, busy('resize', 'ftruncate', p), 'growth past the end of the file')
      assert.equal(out.after, { v: 'same', other: 'same', size: 1000 }, 'after the refusal')
      assert.equal(out.grow2, busy('resize', 'ftruncate', p), 'growth within the file, over the other window')
      assert.equal(out.afterClose, { length: 160, size: 160, tail: 'same' }, 'after closing the other view')
    }
  )

  s('create over a file with another live view is EBUSY; the file and the view unchanged (child process)', async () => {
    const size = 2 * PAGE + 7
    const p = fileWith(pattern(size, 14))
    const out = await child(
      'create over a mapped file',
      p,
      `
const out = {}
const makers = {
  r: () => m.open(p, Uint8Array, 'r', { offset: ${PAGE} }),
  rw: () => m.open(p, Uint8Array, 'rw', { offset: 3, length: 4 }),
  create: () => { const c = m.create(p, ${size}, Uint8Array, data); m.sync(c); return c }
}
for (const [kind, make] of Object.entries(makers)) {
  const other = make()
  const bytes = data.subarray(m.info(other).offset, m.info(other).offset + other.byteLength)
  const o = { create: attempt(() => m.create(p, 10)), gccreate: attempt(() => m.gccreate(p, ${2 * size})) }
  o.other = same(other, bytes)
  other[other.length - 1] = bytes[bytes.length - 1] // touching it is the point: native died of SIGBUS here
  o.file = same(new Uint8Array(fs.readFileSync(p)), data)
  m.close(other)
  out[kind] = o
}
// an empty view maps nothing: it does not count
const empty = m.open(p, Uint8Array, 'rw', { offset: ${size} })
const c = m.create(p, 10)
out.besideEmpty = { length: c.length, size: fs.statSync(p).size }
// ... and once the other view is closed, create works
m.close(c)
m.close(empty)
const c2 = m.create(p, 12)
out.afterClose = { length: c2.length, size: fs.statSync(p).size }
m.close(c2)
report(out)
`
    )
    for (const kind of ['r', 'rw', 'create']) {
      assert.equal(
        out[kind],
        {
          create: busy('create', 'open', p),
          gccreate: busy('gccreate', 'open', p),
          other: 'same',
          file: 'same'
        },
        `create beside a live '${kind}' view`
      )
    }
    assert.equal(out.besideEmpty, { length: 10, size: 10 }, 'create beside an empty view')
    assert.equal(out.afterClose, { length: 12, size: 12 }, 'create after the other views are closed')
    assert.is(fileSize(p), 12)
  })
}

/** Views dropped and collected, and views a worker thread mapped. */
function collectedAndWorkerViews(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const child = childRunner(ctx)
  s('a view dropped without close stops counting once collected (child process)', async () => {
    const p = fileWith(pattern(3 * PAGE, 15))
    const out = await child(
      'dropped views',
      p,
      `
const out = {}
;(() => { m.open(p, Uint8Array, 'r'); m.open(p, Uint8Array, 'rw') })()
out.before = attempt(() => m.close(m.create(p, 1))).code ?? 'ok'
let created = null
// A turn between the attempt and the collection: a WeakRef read in this turn keeps its target alive until it ends.
for (let i = 0; i < 100 && created === null; i++) {
  await tick()
  gc()
  await tick()
  try { created = m.create(p, 2) } catch { }
}
out.after = created === null ? 'still EBUSY' : created.length
report(out)
`
    )
    assert.equal(out, { before: 'EBUSY', after: 2 })
  })

  if (ctx.backend === 'native') {
    requires(s, 'child-worker')('native: a view mapped by a worker thread counts too (child process)', async () => {
      const p = fileWith(pattern(2 * PAGE, 16))
      const out = await child(
        'a worker thread',
        p,
        `
import { Worker, isMainThread, parentPort } from 'node:worker_threads'
if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url), { argv: [p] }) // this file, as the worker below
  const next = () => new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject) })
  await next()
  const v = m.open(p, Uint8Array, 'rw')
  const out = { resize: attempt(() => m.resize(v, 10)), create: attempt(() => m.create(p, 10)) }
  worker.postMessage('read')
  out.sum = await next()
  out.expected = data.reduce((a, b) => a + b, 0)
  await worker.terminate()
  report(out)
} else {
  const v = m.open(p, Uint8Array, 'r')
  parentPort.postMessage('mapped')
  parentPort.once('message', () => { let sum = 0; for (let i = 0; i < v.length; i++) sum += v[i]; parentPort.postMessage(sum) })
}
`
      )
      assert.equal(out.resize, busy('resize', 'ftruncate', p), 'resize')
      assert.equal(out.create, busy('create', 'open', p), 'create')
      assert.is(out.sum, out.expected, 'the worker read its whole view')
    })
  }
}
