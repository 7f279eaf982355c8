// sync(view, options?) and syncAsync(view, options?): durability (checked by SIGKILL right after),
// ranges, write-back granularity, and argument errors (thrown by sync, rejected by syncAsync).
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { entry } from './ctx'
import type { Ctx } from './ctx'
import {
  childPrelude,
  describeChild,
  expectReject,
  expectThrow,
  fileBytes,
  fileWith,
  pattern,
  runChild,
  sameBytes,
  syncWitness,
  tmpFile,
  writeAt
} from '../helpers'
import type { ChildResult } from '../helpers'
import { requires } from '../helpers'

const notViews: Array<[string, unknown]> = [
  ['undefined', undefined],
  ['null', null],
  ['an object', {}],
  ['a plain Uint8Array', new Uint8Array(8)],
  ['a number', 1]
]

function badRanges(n: number): Array<[string, unknown, typeof TypeError | typeof RangeError]> {
  return [
    ['{ offset: -1 }', { offset: -1 }, RangeError],
    ['{ offset: 0.5 }', { offset: 0.5 }, RangeError],
    ['{ offset: NaN }', { offset: NaN }, RangeError],
    [`{ offset: ${n + 1} } (past the view)`, { offset: n + 1 }, RangeError],
    ['{ length: -1 }', { length: -1 }, RangeError],
    [`{ length: ${n + 1} } (past the view)`, { length: n + 1 }, RangeError],
    [`{ offset: ${n - 2}, length: 3 } (past the view)`, { offset: n - 2, length: 3 }, RangeError],
    ["{ offset: '1' }", { offset: '1' }, TypeError],
    ["{ length: '1' }", { length: '1' }, TypeError],
    ['5 (not an object)', 5, TypeError]
  ]
}

function assertKilled(r: ChildResult, what: string): void {
  if (r.signal !== 'SIGKILL' || !r.stdout.includes('synced')) {
    assert.unreachable(`${what}: expected the child to reach the kill after syncing: ${describeChild(r)}`)
  }
}

export default function register(ctx: Ctx): void {
  // ---------------------------------------------------------------------------------------------
  const s = suite(`${ctx.label} sync`)
  syncCalls(s, ctx)
  syncDurability(s, ctx)
  s.run()

  // ---------------------------------------------------------------------------------------------
  const a = suite(`${ctx.label} syncAsync`)
  syncAsyncCalls(a, ctx)
  syncAsyncLarge(a, ctx)
  a.run()
}

/** sync: errors, no-ops, and what reaches the file. */
function syncCalls(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  s('is a function', () => {
    assert.type(api.sync, 'function')
  })

  s('sync of something that is not a view is a TypeError', () => {
    for (const [name, value] of notViews) expectThrow(() => api.sync(value), { type: TypeError }, `sync(${name})`)
  })

  s('bad ranges: RangeError out of the view or domain, TypeError for a non-number', () => {
    const v = api.create(tmpFile(), 100)
    try {
      for (const [name, opts, type] of badRanges(100))
        expectThrow(() => api.sync(v, opts), { type }, `sync(view, ${name})`)
    } finally {
      api.close(v)
    }
  })

  s("sync is a no-op for 'r' and malloc views, and returns undefined", () => {
    const bytes = pattern(100)
    const p = fileWith(bytes)
    const r = api.open(p)
    assert.is(api.sync(r), undefined)
    assert.is(api.sync(r, { offset: 3, length: 5 }), undefined)
    api.close(r)
    sameBytes(fileBytes(p), bytes, 'file')
    const m = api.malloc(10)
    m[3] = 3
    assert.is(api.sync(m), undefined)
    assert.is(m[3], 3)
    api.free(m)
  })

  s('after sync returns, the file holds what was written (whole view and ranges at any alignment)', () => {
    const size = 3 * PAGE + 11
    const bytes = pattern(size, 4)
    const p = fileWith(bytes)
    const v = api.open(p, Uint8Array, 'rw', { offset: 7 })
    const expected = bytes.slice()
    v[0] = 1
    expected[7] = 1
    assert.is(api.sync(v), undefined)
    sameBytes(fileBytes(p), expected, 'after sync()')
    for (const [offset, length] of [
      [1, 1],
      [PAGE - 8, 3],
      [PAGE + 1, PAGE],
      [size - 8, undefined]
    ] as Array<[number, number | undefined]>) {
      const end = length === undefined ? v.length : offset + length
      for (let i = offset; i < end; i++) {
        v[i] = (v[i] + 1) & 0xff
        expected[7 + i] = v[i]
      }
      api.sync(v, length === undefined ? { offset } : { offset, length })
      sameBytes(fileBytes(p), expected, `after sync(view, { offset: ${offset}, length: ${String(length)} })`)
    }
    api.sync(v, { offset: 5, length: 0 })
    api.sync(v, { offset: v.length })
    api.close(v)
    sameBytes(fileBytes(p), expected, 'after close')
  })

  s('sync of empty views', () => {
    const p = tmpFile()
    const v = api.create(p, 0)
    api.sync(v)
    api.sync(v, { offset: 0, length: 0 })
    api.close(v)
  })

  s('only changed granules are written back: writes by others to other granules survive sync and close', () => {
    const G: number = api.capabilities.writeBackGranularity
    const L = Math.max(G, PAGE)
    const p = fileWith(new Uint8Array(4 * L).fill(0x11))
    const expected = new Uint8Array(4 * L).fill(0x11)
    // The window starts at file offset 1, so granules of the file and of the view differ.
    const v = api.open(p, Uint8Array, 'rw', { offset: 1 })
    v[L - 2] = 0x33 // file offset L - 1: the last byte of a granule
    expected[L - 1] = 0x33
    writeAt(p, L, new Uint8Array(16).fill(0x22)) // the next granule, by another writer
    expected.fill(0x22, L, L + 16)
    writeAt(p, 3 * L + 5, new Uint8Array(8).fill(0x44)) // a granule far away
    expected.fill(0x44, 3 * L + 5, 3 * L + 13)
    api.sync(v)
    sameBytes(fileBytes(p), expected, 'after sync')
    writeAt(p, L + 20, new Uint8Array([0x55]))
    expected[L + 20] = 0x55
    v[2 * L] = 0x66 // file offset 2L + 1
    expected[2 * L + 1] = 0x66
    api.close(v)
    sameBytes(fileBytes(p), expected, 'after close')
  })
}

/** sync: what survives the process killed at once after it. */
function syncDurability(s: Test, ctx: Ctx): void {
  const prelude = childPrelude(entry(ctx))
  const durability: Array<[string, string]> = [
    [
      'create, sync',
      `
const v = m.create(args[0], 4096)
v.set([1, 2, 3], 0); v[4095] = 9
m.sync(v)`
    ],
    [
      "open 'rw', sync",
      `
const v = m.open(args[0], Uint8Array, 'rw')
v.set([1, 2, 3], 0); v[4095] = 9
m.sync(v)`
    ],
    [
      "open 'rw' window at an odd offset, sync of a range",
      `
const v = m.open(args[0], Uint8Array, 'rw', { offset: 1 })
v.set([1, 2, 3], 0); v[4094] = 9
m.sync(v, { offset: 0, length: 3 }); m.sync(v, { offset: 4094, length: 1 })`
    ],
    [
      'create of a struct type, sync',
      `
const T = m.struct({ a: 'u8', b: 'u8', c: 'u8', d: 'u8' })
const v = m.create(args[0], 1024, T)
const r = v.at(0); r.a = 1; r.b = 2; r.c = 3
v.at(-1).d = 9
m.sync(v)`
    ],
    [
      'create, syncAsync',
      `
const v = m.create(args[0], 4096)
v.set([1, 2, 3], 0); v[4095] = 9
await m.syncAsync(v)`
    ],
    [
      "open 'rw', syncAsync of ranges",
      `
const v = m.open(args[0], Uint8Array, 'rw')
v.set([1, 2, 3], 0); v[4095] = 9
await Promise.all([m.syncAsync(v, { offset: 0, length: 3 }), m.syncAsync(v, { offset: 4095 })])`
    ],
    [
      'create, close',
      `
const v = m.create(args[0], 4096)
v.set([1, 2, 3], 0); v[4095] = 9
m.close(v)`
    ],
    [
      'gccreate, close',
      `
const v = m.gccreate(args[0], 4096)
v.set([1, 2, 3], 0); v[4095] = 9
m.close(v)`
    ]
  ]
  for (const [name, body] of durability) {
    requires(
      s,
      'ld-preload',
      'posix-tools'
    )(`durable: ${name}, then SIGKILL: the file holds the bytes, and the disk was asked`, async () => {
      const p = tmpFile()
      const log = tmpFile('sync.log')
      if (name.startsWith('open')) fs.writeFileSync(p, new Uint8Array(4096))
      // The last line of each body is the call that must make the bytes durable; the witness
      // library logs what it asks of the disk after the mark.
      const lines = body.trim().split('\n')
      const call = lines.pop()
      const r = await runChild(
        `${prelude}
${lines.join('\n')}
fs.appendFileSync(process.env.MMAPFILE_SYNC_LOG, 'mark\\n')
${call}
process.stdout.write('synced\\n')
process.kill(process.pid, 'SIGKILL')
`,
        { args: [p], env: { LD_PRELOAD: syncWitness(), MMAPFILE_SYNC_LOG: log } }
      )
      assertKilled(r, name)
      const asked = fs.readFileSync(log, 'utf8').split('mark\n')[1] ?? ''
      // a whole write through an O_DSYNC descriptor counts too: Node's permission model refuses fsync
      assert.ok(
        /^(msync \d+ MS_SYNC 0|fsync 0|fdatasync 0|dsync-write (\d+) \2)$/m.test(asked),
        `${name}: no successful msync(MS_SYNC), fsync, fdatasync or O_DSYNC write after the writes; the log after the mark: ${JSON.stringify(asked)}`
      )
      const expected = new Uint8Array(4096)
      if (name.includes('odd offset')) {
        expected.set([1, 2, 3], 1)
        expected[4095] = 9
      } else {
        expected.set([1, 2, 3], 0)
        expected[4095] = 9
      }
      sameBytes(fileBytes(p), expected, `file after ${name} and SIGKILL`)
    })
  }
}

/** syncAsync: rejections, never throws; what it resolves to; close while in flight. */
function syncAsyncCalls(a: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  a('is a function', () => {
    assert.type(api.syncAsync, 'function')
  })

  a('something that is not a view: a rejected Promise (TypeError), never a throw', async () => {
    for (const [name, value] of notViews)
      await expectReject(() => api.syncAsync(value), { type: TypeError }, `syncAsync(${name})`)
  })

  a('bad ranges reject, never throw', async () => {
    const v = api.create(tmpFile(), 100)
    try {
      for (const [name, opts, type] of badRanges(100))
        await expectReject(() => api.syncAsync(v, opts), { type }, `syncAsync(view, ${name})`)
    } finally {
      api.close(v)
    }
  })

  a('resolves to undefined; the file holds the bytes once it has', async () => {
    const bytes = pattern(2 * PAGE + 5, 6)
    const p = fileWith(bytes)
    const v = api.open(p, Int16Array, 'rw', { offset: 3 })
    v[0] = -1
    v[v.length - 1] = 0x0102
    const expected = bytes.slice()
    expected.set([0xff, 0xff], 3)
    expected.set([0x02, 0x01], 3 + (v.length - 1) * 2)
    const pr = api.syncAsync(v)
    assert.instance(pr, Promise)
    assert.is(await pr, undefined)
    sameBytes(fileBytes(p), expected, 'after syncAsync')
    v[5] = 0x0303
    expected.set([3, 3], 13)
    assert.is(await api.syncAsync(v, { offset: 10, length: 2 }), undefined)
    sameBytes(fileBytes(p), expected, 'after syncAsync of a range')
    api.close(v)
  })

  a("resolves for 'r', malloc and empty views", async () => {
    const r = api.open(fileWith(10))
    assert.is(await api.syncAsync(r), undefined)
    api.close(r)
    const m = api.malloc(10)
    assert.is(await api.syncAsync(m), undefined)
    api.free(m)
    const e = api.create(tmpFile(), 0)
    assert.is(await api.syncAsync(e), undefined)
    api.close(e)
  })

  a('many at once, over several views, all resolve', async () => {
    const views = Array.from({ length: 6 }, (_, i) => api.create(tmpFile(), PAGE + i))
    views.forEach((v: Uint8Array, i: number) => v.fill(i + 1))
    const all = []
    for (const v of views) for (let k = 0; k < 4; k++) all.push(api.syncAsync(v, { offset: k }))
    const results = await Promise.all(all)
    assert.ok(results.every((x) => x === undefined))
    for (const v of views) api.close(v)
  })

  a('close while a syncAsync is in flight: no crash, the data is in the file, the Promise settles', async () => {
    const p = tmpFile()
    const v = api.create(p, 3 * PAGE)
    const data = pattern(3 * PAGE, 12)
    v.set(data)
    const pr = api.syncAsync(v)
    api.close(v)
    try {
      await pr
    } catch (e) {
      assert.instance(e, Error, 'a rejection is an Error')
    }
    sameBytes(fileBytes(p), data, 'file')
  })
}

/** syncAsync of a large view: the event loop turns while it runs. */
function syncAsyncLarge(a: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  // A view larger than the write-back slices of wasm (4 MiB), every page changed: a syncAsync lets the
  // event loop turn before it resolves (wasm: between slices; native: msync runs on the thread pool).
  const BIG = 24 << 20

  a('a large syncAsync lets the event loop turn while it runs; then the file holds everything', async () => {
    const p = tmpFile()
    const v = api.create(p, BIG)
    const expected = new Uint8Array(BIG)
    for (let i = 0; i < BIG; i += PAGE) {
      v[i] = (i / PAGE) & 0xff || 1
      expected[i] = v[i]
    }
    let turns = 0
    let settled = false
    const turn = (): void => {
      if (!settled) {
        turns++
        setImmediate(turn)
      }
    }
    setImmediate(turn)
    await api.syncAsync(v)
    settled = true
    assert.ok(turns > 0, 'the event loop turned while the syncAsync ran')
    sameBytes(fileBytes(p), expected, 'the file once it resolved')
    api.close(v)
  })

  a(
    'a write made while a syncAsync is in flight is in the file after the next sync, and close meanwhile loses nothing',
    async () => {
      for (const ending of ['sync', 'close']) {
        const p = tmpFile()
        const v = api.create(p, BIG)
        v.fill(1)
        const pr = api.syncAsync(v)
        v[BIG - 1] = 2 // in the last slice: in this write-back or the next
        v[0] = 3 // in the first slice, already written: in the next write-back
        if (ending === 'close') api.close(v)
        await pr
        if (ending === 'sync') {
          api.sync(v)
          api.close(v)
        }
        const file = fileBytes(p)
        assert.is(file[0], 3, `${ending}: the write to the first slice`)
        assert.is(file[BIG - 1], 2, `${ending}: the write to the last slice`)
        assert.is(file[BIG >> 1], 1, `${ending}: the rest`)
      }
    }
  )
}
