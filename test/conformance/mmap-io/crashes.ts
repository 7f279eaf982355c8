// What mmap-io crashes on, answered safely: bad arguments, permissions, private writes, large offsets.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { Buffer } from 'node:buffer'
import type { Ctx } from '../ctx'
import {
  assertNothingHeld,
  expectThrow,
  fileBytes,
  fileWith,
  pattern,
  requires,
  sameBytes,
  tmpFile
} from '../../helpers'
import type { MmapIoKit } from './kit'

/** Bad arguments, a read-only descriptor, private writes. */
export function crashArguments(safe: Test, ctx: Ctx, kit: MmapIoKit): void {
  const { mmap, PAGESIZE, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_PRIVATE, reopen } = kit
  const safeMaps = requires(safe, ...reopen)

  safe('bad arguments: TypeError for the wrong kind, RangeError out of range; nothing is left', () => {
    const p = fileWith(100)
    const fd = fs.openSync(p, 'r+')
    try {
      const cases: Array<[string, () => unknown, typeof TypeError | typeof RangeError]> = [
        ['protection PROT_NONE', () => mmap.map(10, mmap.PROT_NONE, MAP_SHARED, fd), TypeError],
        ['protection 8', () => mmap.map(10, 8 as any, MAP_SHARED, fd), TypeError],
        ['flags 0', () => mmap.map(10, PROT_READ, 0, fd), TypeError],
        ['flags MAP_SHARED | MAP_PRIVATE', () => mmap.map(10, PROT_READ, MAP_SHARED | MAP_PRIVATE, fd), TypeError],
        ['flags MAP_ANONYMOUS (0x20)', () => mmap.map(10, PROT_READ, MAP_PRIVATE | 0x20, fd), TypeError],
        ['size -1', () => mmap.map(-1, PROT_READ, MAP_SHARED, fd), RangeError],
        ['size 1.5', () => mmap.map(1.5, PROT_READ, MAP_SHARED, fd), RangeError],
        ['fd -1', () => mmap.map(10, PROT_READ, MAP_SHARED, -1), RangeError],
        ["fd '3'", () => mmap.map(10, PROT_READ, MAP_SHARED, '3' as any), TypeError],
        ['offset -1', () => mmap.map(10, PROT_READ, MAP_SHARED, fd, -1), RangeError],
        ['advise 9', () => mmap.map(10, PROT_READ, MAP_SHARED, fd, 0, 9 as any), TypeError],
        ['sync of a plain Buffer', () => mmap.sync(Buffer.alloc(10)), TypeError],
        ['incore of a plain Uint8Array', () => mmap.incore(new Uint8Array(10) as Buffer), TypeError],
        ['unmap of undefined', () => mmap.unmap(undefined as any), TypeError],
        ['advise with 3 arguments', () => (mmap.advise as any)(Buffer.alloc(1), 0, 1), TypeError]
      ]
      for (const [name, call, type] of cases) expectThrow(call, { type }, name)
    } finally {
      fs.closeSync(fd)
    }
    assertNothingHeld('after the refused calls', p)
  })

  safeMaps('PROT_WRITE of a read-only descriptor is EACCES, as mmap-io\'s "permission error (13)"', () => {
    const p = fileWith(100)
    const fd = fs.openSync(p, 'r')
    try {
      expectThrow(
        () => mmap.map(100, PROT_READ | PROT_WRITE, MAP_SHARED, fd),
        { type: Error, code: 'EACCES' },
        'map(PROT_WRITE, MAP_SHARED, <read-only fd>)'
      )
      // A private mapping writes nothing back: a read-only descriptor is enough, as for mmap(2).
      const priv = mmap.map(100, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd)
      priv[0] ^= 0xff
      mmap.sync(priv, true)
      mmap.unmap(priv)
    } finally {
      fs.closeSync(fd)
    }
    sameBytes(fileBytes(p), pattern(100), 'the file')
  })

  safeMaps('MAP_PRIVATE with PROT_WRITE: writes stay in memory, never in the file', () => {
    const bytes = pattern(PAGESIZE, 82)
    const p = fileWith(bytes)
    const fd = fs.openSync(p, 'r+')
    const buffer = mmap.map(PAGESIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd)
    fs.closeSync(fd)
    buffer.fill(7)
    mmap.sync(buffer, true)
    mmap.unmap(buffer)
    sameBytes(fileBytes(p), bytes, 'the file')
  })
}

/** Offsets and windows past what mmap-io reads as a C int, and what follows. */
export function crashOffsets(safe: Test, ctx: Ctx, kit: MmapIoKit): void {
  const { api, mmap, PAGESIZE, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_PRIVATE, reopen } = kit
  const safeMaps = requires(safe, ...reopen)

  safeMaps('offsets past 2^31 and 2^32 (mmap-io reads them as a C int) map the right bytes; windows over 1 GiB', () => {
    const p = tmpFile('sparse.bin')
    const fd = fs.openSync(p, 'w+')
    try {
      const marks: Array<[number, number]> = [
        [2 ** 31 + 1, 0xb1],
        [2 ** 32 + 3, 0xb2],
        [3 * 2 ** 30 + 5, 0xb3]
      ]
      fs.ftruncateSync(fd, 5 * 2 ** 30)
      for (const [at, byte] of marks) fs.writeSync(fd, new Uint8Array([byte]), 0, 1, at)
      for (const [at, byte] of marks) {
        const buffer = mmap.map(16, PROT_READ, MAP_SHARED, fd, at - 1)
        assert.is(buffer[1], byte, `the byte at ${at}`)
        mmap.unmap(buffer)
      }
      if (ctx.backend === 'native') {
        // mmap-io: "Mappings over 1 GiB are not supported". A private mapping of a sparse file costs
        // address space only.
        const big = mmap.map(3 * 2 ** 30, PROT_READ, MAP_PRIVATE, fd, 2 ** 31)
        assert.is(big.length, 3 * 2 ** 30)
        assert.is(big[1], 0xb1)
        assert.is(big[2 ** 31 + 3], 0xb2)
        mmap.unmap(big)
      } else {
        // wasm reads a window into memory: over 1 GiB, up to maxViewBytes (not mapped here, to spare the machine).
        assert.ok(api.capabilities.maxViewBytes > 2 ** 30, `maxViewBytes ${api.capabilities.maxViewBytes}`)
      }
    } finally {
      fs.closeSync(fd)
      fs.rmSync(p)
    }
  })

  safeMaps(
    'the descriptor can be closed at once, and a file that takes its number never receives the write-back',
    () => {
      const p = fileWith(new Uint8Array(PAGESIZE))
      const q = tmpFile()
      const fd = fs.openSync(p, 'r+')
      const buffer = mmap.map(PAGESIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd)
      fs.closeSync(fd)
      const other = fs.openSync(q, 'w+')
      try {
        buffer.fill(9)
        mmap.sync(buffer)
        mmap.sync(buffer, true)
        mmap.unmap(buffer)
        assert.is(fs.fstatSync(other).size, 0, `the file at number ${other}`)
      } finally {
        fs.closeSync(other)
      }
      sameBytes(fileBytes(p), new Uint8Array(PAGESIZE).fill(9), 'the mapped file')
    }
  )
}
