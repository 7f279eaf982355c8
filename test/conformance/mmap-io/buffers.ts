// How mmap-io's Buffers live with the rest of mmapfile: info, sync, close, unmap, collection.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { entry } from '../ctx'
import type { Ctx } from '../ctx'
import {
  assertChildOk,
  assertNothingHeld,
  childPrelude,
  childReport,
  expectThrow,
  fileBytes,
  fileWith,
  lacking,
  pattern,
  requires,
  runChild
} from '../../helpers'
import type { MmapIoKit } from './kit'

/** A Buffer of mmap-io as an mmapfile view, and unmap. */
export function buffersInProcess(life: Test, ctx: Ctx, kit: MmapIoKit): void {
  const { api, mmap, PAGESIZE, PROT_READ, PROT_WRITE, MAP_SHARED, reopen } = kit
  const lifeMaps = requires(life, ...reopen)

  lifeMaps(
    "map()'s Buffer is a view of the backend: mmapfile's sync, info and close take it; a part of it goes to mmap-io's calls only",
    () => {
      const p = fileWith(new Uint8Array(3 * PAGESIZE))
      const fd = fs.openSync(p, 'r+')
      const buffer = mmap.map(3 * PAGESIZE - 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 1)
      fs.closeSync(fd)
      assert.equal(api.info(buffer), {
        path: null,
        mode: 'rw',
        offset: 1,
        byteLength: 3 * PAGESIZE - 1,
        backend: ctx.backend,
        fd
      })
      buffer[0] = 1
      api.sync(buffer)
      assert.is(fileBytes(p)[1], 1, 'mmapfile.sync(buffer)')
      const part = buffer.subarray(PAGESIZE, 2 * PAGESIZE)
      part[0] = 2
      mmap.sync(part, 0, 1, true)
      assert.is(fileBytes(p)[PAGESIZE + 1], 2, 'mmap-io sync(part of it)')
      mmap.advise(part, mmap.MADV_WILLNEED)
      mmap.advise(part, 10, 20, mmap.MADV_DONTNEED)
      assert.is(part[0], 2, 'advise changes nothing')
      assert.equal(mmap.incore(part)[0] + mmap.incore(part)[1], 2, 'incore of the part counts its pages')
      expectThrow(() => api.sync(part), { type: TypeError }, 'mmapfile.sync(part of a Buffer)')
      expectThrow(
        () => api.resize(buffer, 4 * PAGESIZE),
        { type: TypeError, message: /^mmapfile\.resize: a Buffer from mmapfile\/mmap-io map\(\) cannot be resized/ },
        'mmapfile.resize(buffer): mmap-io could not take the view it would make'
      )
      assert.is(buffer.length, 3 * PAGESIZE - 1, 'the Buffer is as it was')
      buffer[2] = 3
      api.close(buffer)
      assert.is(buffer.length, 0, 'closed: length 0')
      assert.is(fileBytes(p)[3], 3, 'mmapfile.close(buffer) wrote back')
      mmap.unmap(buffer) // a second release is a no-op
      expectThrow(() => mmap.sync(buffer), { type: TypeError, code: 'ERR_MMAPFILE_CLOSED' }, 'sync after close')
    }
  )

  lifeMaps('unmap writes back durably and releases; the Buffer then has length 0; a second unmap is a no-op', () => {
    const p = fileWith(new Uint8Array(PAGESIZE))
    const fd = fs.openSync(p, 'r+')
    const buffer = mmap.map(PAGESIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd)
    fs.closeSync(fd)
    buffer[5] = 5
    mmap.unmap(buffer.subarray(10))
    assert.is(buffer.length, 0)
    mmap.unmap(buffer)
    assert.is(fileBytes(p)[5], 5)
    assertNothingHeld('after unmap', p)
  })
}

/** What a Buffer keeps alive, what a sync writes, and the entries that import mmap-io, in child processes. */
export function buffersInChildren(life: Test, ctx: Ctx, kit: MmapIoKit): void {
  const { PAGESIZE, reopenInChild } = kit
  const lifeMapsInChild = requires(life, ...reopenInChild)

  // native: the mapping lives as long as any view of its bytes (a part of the Buffer included), and
  // mmap-io's calls take such a part; wasm: the Buffer is the mapping's life, and once it is collected
  // the 'rw' data is written back and the descriptor closed (a part keeps reading the bytes).
  lifeMapsInChild(
    "collected: native releases the mapping once nothing refers to its bytes, wasm once the Buffer is gone; 'rw' data is in the file",
    async () => {
      const p = fileWith(new Uint8Array(2 * PAGESIZE))
      const r = await runChild(
        `${childPrelude(entry(ctx))}
import { createMmapIo } from 'mmapfile/mmap-io'
const mmap = createMmapIo(m)
const native = m.backend === 'native'
const fd = fs.openSync(args[0], 'r+')
const fdsOf = () => fs.readdirSync('/proc/self/fd').filter((n) => { try { return fs.readlinkSync('/proc/self/fd/' + n) === args[0] } catch { return false } }).length
// In a function of its own, so that no stack slot of the caller holds the part afterwards (Bun's
// collector scans the stack conservatively).
async function usePart () {
  const part = (() => {
    const buffer = mmap.map(${2 * PAGESIZE}, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd)
    buffer[1] = 11
    return buffer.subarray(${PAGESIZE})
  })()
  fs.closeSync(fd)
  await collectUntil(() => fs.readFileSync(args[0])[1] === 11 && (native || !seesProc || fdsOf() === 0))
  await collect(8)
  part[0] = 22
  // where the child cannot see its mappings and descriptors (Windows, a permission model): null
  const heldByPart = seesProc ? { maps: maps(args[0]).length, fds: fdsOf() } : null
  if (native) mmap.sync(part, true)
  return { heldByPart, second: fs.readFileSync(args[0])[${PAGESIZE}] }
}
const { heldByPart, second } = await usePart()
if (seesProc) await collectUntil(() => maps(args[0]).length === 0 && fdsOf() === 0)
report({ heldByPart, first: fs.readFileSync(args[0])[1], second, maps: seesProc ? maps(args[0]).length : null, fds: seesProc ? fdsOf() : null })
`,
        { args: [p] }
      )
      assertChildOk(r, 'map, drop, collect')
      const native = ctx.backend === 'native'
      const seen = lacking('child-proc') === null
      assert.equal(childReport(r, 'map, drop, collect'), {
        heldByPart: !seen ? null : native ? { maps: 1, fds: 1 } : { maps: 0, fds: 0 },
        first: 11,
        second: native ? 22 : 0,
        maps: seen ? 0 : null,
        fds: seen ? 0 : null
      })
    }
  )

  lifeMapsInChild(
    'wasm: a shared writable mapping reaches the file at sync, unmap and exit; native at once (the page cache)',
    async () => {
      const p = fileWith(new Uint8Array(100))
      const r = await runChild(
        `${childPrelude(entry(ctx))}
import { createMmapIo } from 'mmapfile/mmap-io'
const mmap = createMmapIo(m)
const fd = fs.openSync(args[0], 'r+')
const buffer = globalThis.keep = mmap.map(100, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd)
buffer[0] = 1
const before = fs.readFileSync(args[0])[0]
mmap.sync(buffer)
const afterSync = fs.readFileSync(args[0])[0]
buffer[99] = 99
report({ before, afterSync })
`,
        { args: [p] }
      )
      assertChildOk(r, 'exit with a mapping')
      assert.equal(childReport(r, 'exit'), { before: ctx.backend === 'native' ? 1 : 0, afterSync: 1 })
      assert.is(fileBytes(p)[99], 99, 'the write left at exit')
    }
  )

  lifeMapsInChild(
    'mmapfile/mmap-io picks the backend as mmapfile does (MMAPFILE_BACKEND), for import and require',
    async () => {
      const p = fileWith(pattern(64, 83))
      const r = await runChild(
        `
import mmap from 'mmapfile/mmap-io'
import { map, PROT_READ, MAP_SHARED } from 'mmapfile/mmap-io'
import * as mmapfile from 'mmapfile'
import { createRequire } from 'node:module'
import * as fs from 'node:fs'
const required = createRequire(import.meta.url)('mmapfile/mmap-io')
const fd = fs.openSync(process.argv[2], 'r')
const a = mmap.map(64, mmap.PROT_READ, mmap.MAP_SHARED, fd)
const b = map(63, PROT_READ, MAP_SHARED, fd, 1)
const c = required.map(64, required.PROT_READ, required.MAP_SHARED, fd)
fs.closeSync(fd)
const backends = [a, b, c].map((x) => mmapfile.info(x).backend)
mmapfile.close(c) // the CommonJS copy's Buffer, closed by the ESM copy's mmapfile
process.stdout.write(JSON.stringify({ backends, mmapfile: mmapfile.backend, bytes: [a[0], b[0], c.length], same: required.PAGESIZE === mmap.PAGESIZE }) + '\\n')
`,
        { args: [p], env: { MMAPFILE_BACKEND: ctx.backend } }
      )
      assertChildOk(r, `MMAPFILE_BACKEND=${ctx.backend}`)
      const bytes = pattern(64, 83)
      assert.equal(childReport(r, 'backend'), {
        backends: [ctx.backend, ctx.backend, ctx.backend],
        mmapfile: ctx.backend,
        bytes: [bytes[0], bytes[1], 0],
        same: true
      })
    }
  )
}
