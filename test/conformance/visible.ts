// sync(view, { durable: false }) and syncAsync(view, { durable: false }): the changes are visible to
// every other reader of the file (plain reads, other processes) when it returns, and the disk was not
// waited for (checked by an LD_PRELOAD witness of msync/fsync/fdatasync); close stays durable.
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
  requires,
  runChild,
  sameBytes,
  syncWitness,
  tmpFile
} from '../helpers'

/** What a durable step looks like in the witness's log. */
const DURABLE = /^(msync \d+ MS_SYNC|fsync|fdatasync) /m
/**
 * The same, or a whole write through an O_DSYNC descriptor: under Node's permission model, which
 * refuses fsync, the wasm host writes through O_DSYNC (as in sync.ts's durability cases). There every
 * write of the host waits for the disk, { durable: false } ones too: its descriptors are all O_DSYNC.
 */
const DURABLE_OR_DSYNC = /^(msync \d+ MS_SYNC 0|fsync 0|fdatasync 0|dsync-write (\d+) \2)$/m

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} sync { durable: false }`)
  visibleWrites(s, ctx)
  noOpsAndReaders(s, ctx)
  s.run()
}

/** Bad options, and what reaches the file without a flush to the disk. */
function visibleWrites(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const prelude = childPrelude(entry(ctx))
  s('options.durable that is not a boolean: sync throws a TypeError, syncAsync rejects with one', async () => {
    const v = api.create(tmpFile(), 10)
    try {
      for (const durable of [0, 1, 'false', null, {}]) {
        expectThrow(
          () => api.sync(v, { durable }),
          { type: TypeError },
          `sync(view, { durable: ${JSON.stringify(durable)} })`
        )
        await expectReject(
          () => api.syncAsync(v, { durable }),
          { type: TypeError },
          `syncAsync(view, { durable: ${JSON.stringify(durable)} })`
        )
      }
      api.sync(v, { durable: undefined })
    } finally {
      api.close(v)
    }
  })

  s(
    'after sync returns, a plain read and another process see the bytes (whole view and ranges at any alignment)',
    async () => {
      const bytes = pattern(3 * PAGE + 11, 71)
      const p = fileWith(bytes)
      const v = api.open(p, Uint8Array, 'rw', { offset: 5 })
      const expected = bytes.slice()
      v[0] = 1
      expected[5] = 1
      assert.is(api.sync(v, { durable: false }), undefined)
      sameBytes(fileBytes(p), expected, 'after sync(view, { durable: false })')
      for (const [offset, length] of [
        [1, 1],
        [PAGE - 8, 3],
        [PAGE + 1, PAGE]
      ] as Array<[number, number]>) {
        for (let i = offset; i < offset + length; i++) {
          v[i] = (v[i] + 1) & 0xff
          expected[5 + i] = v[i]
        }
        api.sync(v, { offset, length, durable: false })
        sameBytes(fileBytes(p), expected, `after sync(view, { offset: ${offset}, length: ${length}, durable: false })`)
      }
      const r = await runChild(
        `${prelude}
report(Array.from(fs.readFileSync(args[0])))
`,
        { args: [p] }
      )
      sameBytes(JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]'), expected, 'read by another process')
      api.close(v)
      sameBytes(fileBytes(p), expected, 'after close')
    }
  )

  s('syncAsync { durable: false } resolves to undefined; the file holds the bytes once it has', async () => {
    const p = fileWith(pattern(2 * PAGE, 72))
    const v = api.open(p, Uint16Array, 'rw')
    v[3] = 0x0102
    v[PAGE - 1] = 0x0304
    assert.is(await api.syncAsync(v, { durable: false }), undefined)
    const file = fileBytes(p)
    assert.equal([file[6], file[7], file[2 * PAGE - 2], file[2 * PAGE - 1]], [2, 1, 4, 3])
    api.close(v)
  })
}

/** No-ops, and no wait for the disk: the bytes survive SIGKILL, and close is durable. */
function noOpsAndReaders(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const prelude = childPrelude(entry(ctx))
  s("a no-op for 'r', malloc and empty views", async () => {
    const bytes = pattern(10, 73)
    const p = fileWith(bytes)
    const r = api.open(p)
    r[0] ^= 0xff
    api.sync(r, { durable: false })
    await api.syncAsync(r, { durable: false })
    api.close(r)
    sameBytes(fileBytes(p), bytes, "the file under an 'r' view")
    const m = api.malloc(4)
    api.sync(m, { durable: false })
    api.free(m)
    const e = api.create(tmpFile(), 0)
    api.sync(e, { durable: false })
    await api.syncAsync(e, { durable: false })
    api.close(e)
  })

  requires(
    s,
    'ld-preload',
    'posix-tools'
  )(
    'the disk is not waited for (no msync MS_SYNC, fsync or fdatasync), the bytes survive SIGKILL, and close is durable',
    async () => {
      for (const how of ['sync', 'syncAsync']) {
        const p = fileWith(new Uint8Array(2 * PAGE))
        const log = tmpFile('sync.log')
        const r = await runChild(
          `${prelude}
const v = m.open(args[0], Uint8Array, 'rw')
v[1] = 1; v[${PAGE}] = 2
fs.appendFileSync(process.env.MMAPFILE_SYNC_LOG, 'mark\\n')
${how === 'sync' ? 'm.sync(v, { durable: false })' : 'await m.syncAsync(v, { durable: false })'}
fs.appendFileSync(process.env.MMAPFILE_SYNC_LOG, 'closing\\n')
const w = m.open(args[0], Uint8Array, 'rw')
w[2] = 3
m.close(w)
process.stdout.write('synced\\n')
process.kill(process.pid, 'SIGKILL')
`,
          { args: [p], env: { LD_PRELOAD: syncWitness(), MMAPFILE_SYNC_LOG: log } }
        )
        if (r.signal !== 'SIGKILL' || !r.stdout.includes('synced')) assert.unreachable(`${how}: ${describeChild(r)}`)
        const [, during = '', closing = ''] = fs.readFileSync(log, 'utf8').split(/mark\n|closing\n/)
        assert.not.match(during, DURABLE, `${how} { durable: false } asked the disk: ${JSON.stringify(during)}`)
        assert.match(closing, DURABLE_OR_DSYNC, `close did not ask the disk: ${JSON.stringify(closing)}`)
        const file = fileBytes(p)
        assert.equal([file[1], file[2], file[PAGE]], [1, 3, 2], `${how}: the file after SIGKILL`)
      }
    }
  )
}
