// mmap-io's own test suite (ozra/mmap-io src/test.ls), case by case, as real assertions where it
// only prints. Cases rewritten, and why, are marked "mmap-io:".
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { Buffer } from 'node:buffer'
import type { Ctx } from '../ctx'
import { assertNothingHeld, expectThrow, fileBytes, requires, sameBytes, tmpFile } from '../../helpers'
import type { MmapIoKit } from './kit'

/** The values mmap-io exports on Linux (its src/mmap-io.ts types them as these literals). */
const CONSTANTS = {
  PROT_READ: 1,
  PROT_WRITE: 2,
  PROT_EXEC: 4,
  PROT_NONE: 0,
  MAP_SHARED: 1,
  MAP_PRIVATE: 2,
  MAP_NONBLOCK: 65536,
  MAP_POPULATE: 32768,
  MADV_NORMAL: 0,
  MADV_RANDOM: 1,
  MADV_SEQUENTIAL: 2,
  MADV_WILLNEED: 3,
  MADV_DONTNEED: 4
}

/** mmap-io's cases that map its script and read it. */
export function ownSuiteReads(t: Test, ctx: Ctx, kit: MmapIoKit): void {
  const { api, mmap, PAGESIZE, PROT_READ, MAP_SHARED, script, scriptPath, reopen, withScript } = kit
  const tMaps = requires(t, ...reopen)

  t('"mmap in test is": the module has map, advise, sync, incore, PAGESIZE and mmap-io\'s constants', () => {
    for (const fn of ['map', 'advise', 'sync', 'incore', 'unmap'] as const) assert.type(mmap[fn], 'function', fn)
    for (const [name, value] of Object.entries(CONSTANTS)) assert.is((mmap as any)[name], value, name)
    assert.is(mmap.PAGESIZE, api.PAGE_SIZE)
  })

  t('"tries to overwrite PAGESIZE with 47": silently kept (a TypeError in strict code)', () => {
    try {
      ;(mmap as any).PAGESIZE = 47
    } catch (e) {
      assert.instance(e, TypeError)
    }
    assert.is(mmap.PAGESIZE, PAGESIZE)
  })

  tMaps(
    '"full 6-arg call": map(size, PROT_READ, MAP_SHARED, fd, 0, MADV_SEQUENTIAL) is a Buffer of size bytes, the file\'s',
    () => {
      withScript((fd, size) => {
        const buffer = mmap.map(size, PROT_READ, MAP_SHARED, fd, 0, mmap.MADV_SEQUENTIAL)
        assert.is(buffer.length, size)
        assert.ok(Buffer.isBuffer(buffer), 'a Buffer')
        sameBytes(buffer, script, 'the bytes')
        mmap.unmap(buffer)
      })
    }
  )

  tMaps('"give advise with 2 args", "with 4 args", read backwards, incore, out of bounds', () => {
    withScript((fd, size) => {
      const buffer = mmap.map(size, PROT_READ, MAP_SHARED, fd, 0, mmap.MADV_SEQUENTIAL)
      mmap.advise(buffer, mmap.MADV_NORMAL)
      mmap.advise(buffer, 0, mmap.PAGESIZE, mmap.MADV_NORMAL)
      // "read byte for byte backwards and see that nothing explodes"
      let out = ''
      for (let ix = size - 1; ix >= 0; ix--) out += String.fromCharCode(buffer[ix])
      assert.is(out.length, size)
      assert.is(out.charCodeAt(0), script[size - 1])
      // mmap-io: incore after reading it all is [0 unmapped, 2 mapped] for its 2-page script; every page here
      assert.equal(mmap.incore(buffer), [0, Math.ceil(size / PAGESIZE)])
      // "read out of bounds test"
      assert.is(typeof buffer[size + 47], 'undefined')
      mmap.unmap(buffer)
    })
  })

  tMaps(
    'mmap-io: "Try to write to read buffer" (commented out there: a SIGSEGV) stays in memory here, the file unchanged',
    () => {
      withScript((fd, size) => {
        const buffer = mmap.map(size, PROT_READ, MAP_SHARED, fd)
        buffer[0] = 47
        buffer[size - 1] = 48
        assert.is(buffer[0], 47)
        assert.is(buffer[size - 1], 48)
        mmap.sync(buffer)
        mmap.unmap(buffer)
      })
      sameBytes(fileBytes(scriptPath), script, 'the file')
    }
  )

  tMaps('"5-arg map call" and "4-arg map call": size bytes', () => {
    withScript((fd, size) => {
      const five = mmap.map(size, PROT_READ, MAP_SHARED, fd, 0)
      const four = mmap.map(size, PROT_READ, MAP_SHARED, fd)
      assert.is(five.length, size)
      assert.is(four.length, size)
      sameBytes(four, script, 'the 4-arg buffer')
      mmap.unmap(five)
      mmap.unmap(four)
    })
  })

  tMaps(
    'mmap-io: "buflen test 3", map(size, ..., fd, PAGESIZE) past the end of the file, is a RangeError here (there a read of the tail is a SIGBUS); inside the file it maps',
    () => {
      withScript((fd, size) => {
        const e = expectThrow(
          () => mmap.map(size, PROT_READ, MAP_SHARED, fd, PAGESIZE),
          { type: RangeError },
          'map(size, ..., PAGESIZE)'
        )
        assert.match(e.message, /beyond the end of the file/)
        const inside = mmap.map(size - PAGESIZE, PROT_READ, MAP_SHARED, fd, PAGESIZE)
        sameBytes(inside, script.subarray(PAGESIZE), 'the window at PAGESIZE')
        mmap.unmap(inside)
      })
    }
  )
}

/** mmap-io's cases of bad arguments, and its write tests. */
export function ownSuiteErrorsAndWrites(t: Test, ctx: Ctx, kit: MmapIoKit): void {
  const { mmap, coherent, PAGESIZE, PROT_READ, PROT_WRITE, MAP_SHARED, script, reopen, withScript } = kit
  const tMaps = requires(t, ...reopen)

  t('"pass faulty arg" map("foo", ...) throws (a TypeError)', () => {
    withScript((fd) => {
      expectThrow(() => mmap.map('foo' as any, PROT_READ, MAP_SHARED, fd, 0), { type: TypeError }, 'map("foo")')
    })
  })

  t('"pass zero size" throws: EINVAL, as mmap(2) answers', () => {
    withScript((fd) => {
      expectThrow(
        () => mmap.map(0, PROT_READ, MAP_SHARED, fd, 0),
        { type: Error, code: 'EINVAL', syscall: 'mmap' },
        'map(0)'
      )
    })
  })

  tMaps('mmap-io: "pass wrong page-size as offset" (EINVAL there) maps here: any offset works', () => {
    withScript((fd, size) => {
      for (const offset of [PAGESIZE - 1, 1, PAGESIZE + 1, size - 1]) {
        const buffer = mmap.map(size - offset, PROT_READ, MAP_SHARED, fd, offset)
        sameBytes(buffer, script.subarray(offset), `offset ${offset}`)
        mmap.unmap(buffer)
      }
    })
  })

  tMaps('"pass faulty arg to advise()" throws (a TypeError)', () => {
    withScript((fd, size) => {
      const buffer = mmap.map(size, PROT_READ, MAP_SHARED, fd)
      expectThrow(() => mmap.advise(buffer, 'fuck off' as any), { type: TypeError }, 'advise(buffer, "...")')
      expectThrow(() => mmap.advise(buffer, 7 as any), { type: TypeError }, 'advise(buffer, 7)')
      mmap.unmap(buffer)
    })
  })

  // "Write tests": one writable and one read-only shared mapping of a 47474-byte file, both descriptors
  // closed at once, then every byte written through one is read through the other.
  tMaps(
    '"write/read tests": a byte written through the PROT_WRITE buffer is read through the PROT_READ one (wasm: after a sync); then "sync() tests x 4"',
    () => {
      const testFile = tmpFile('tmp-mmap-file')
      const testSize = 47474
      fs.writeFileSync(testFile, '')
      fs.truncateSync(testFile, testSize)
      const fdW = fs.openSync(testFile, 'r+')
      const wBuffer = mmap.map(testSize, PROT_WRITE, MAP_SHARED, fdW)
      fs.closeSync(fdW)
      mmap.advise(wBuffer, mmap.MADV_SEQUENTIAL)
      const fdR = fs.openSync(testFile, 'r')
      const rBuffer = mmap.map(testSize, PROT_READ, MAP_SHARED, fdR)
      fs.closeSync(fdR)
      mmap.advise(rBuffer, mmap.MADV_SEQUENTIAL)
      // "verify write and read": byte by byte where views are coherent; a page at a time, each synced, where not
      const step = coherent ? 1 : PAGESIZE
      for (let from = 0; from < testSize; from += step) {
        const to = Math.min(testSize, from + step)
        for (let i = from; i < to; i++) wBuffer[i] = 32 + (i % 60)
        if (!coherent) mmap.sync(wBuffer, from, to - from)
        for (let i = from; i < to; i++)
          if (rBuffer[i] !== 32 + (i % 60)) assert.unreachable(`rBuffer[${i}] is ${rBuffer[i]}`)
      }
      const expected = Uint8Array.from({ length: testSize }, (_, i) => 32 + (i % 60))
      // "1. explicit blocking sync to disk", "2. without offset/length", "3. without blocking/invalidate flags", "4. no additional arguments"
      const syncs: Array<[string, () => void]> = [
        ['sync(w, 0, testSize, true, false)', () => mmap.sync(wBuffer, 0, testSize, true, false)],
        ['sync(w, true, false)', () => mmap.sync(wBuffer, true, false)],
        ['sync(w, 0, testSize)', () => mmap.sync(wBuffer, 0, testSize)],
        ['sync(w)', () => mmap.sync(wBuffer)]
      ]
      for (const [i, [name, call]] of syncs.entries()) {
        wBuffer[i] = 200 + i
        expected[i] = 200 + i
        call()
        sameBytes(fileBytes(testFile), expected, `the file after ${name}`)
        assert.is(rBuffer[i], 200 + i, `the read buffer after ${name}`)
      }
      mmap.unmap(wBuffer)
      mmap.unmap(rBuffer)
      // "Failed to remove test-file": the file is not held
      fs.unlinkSync(testFile)
      assertNothingHeld('after unmap', testFile)
    }
  )
}
