// The Backend contract: sync and syncAsync; advise and incore.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { bytesOf, fileBytes, fileWith, pattern, sameBytes } from '../helpers'
import type { ContractKit } from './kit'
import { OPTS } from './kit'

/** sync and syncAsync: what reaches the file, and when. */
export function syncSuite(k: ContractKit): void {
  const { name, backend, contract } = k
  // --- sync and syncAsync
  const sync = suite(`${name} backend: sync`)
  const syncTest = contract(sync)

  syncTest("sync of a range makes it reach the file; close the rest; 'rw' sync { durable: false } too", () => {
    const data = pattern(8 * 65536)
    const p = fileWith(data)
    const m = backend.open(p, 'rw', 0, null, OPTS)
    bytesOf(m)[65536 + 100] ^= 1
    bytesOf(m)[5 * 65536 + 100] ^= 1
    backend.sync(m, 65536 + 50, 100)
    assert.is(fileBytes(p)[65536 + 100], data[65536 + 100] ^ 1, 'the byte in the range')
    bytesOf(m)[7] ^= 1
    backend.sync(m, 0, 8, false)
    assert.is(fileBytes(p)[7], data[7] ^ 1, 'a sync that is not durable: visible to read()')
    backend.close(m)
    assert.is(fileBytes(p)[5 * 65536 + 100], data[5 * 65536 + 100] ^ 1, 'the byte outside the range, at close')
  })

  syncTest(
    'syncAsync returns a Promise that resolves once the bytes are in the file; of an alloc mapping it resolves',
    async () => {
      const p = fileWith(4 * 65536)
      const m = backend.open(p, 'rw', 1, null, OPTS)
      bytesOf(m)[65536] = 77
      const promise = backend.syncAsync(m, 0, m.byteLength)
      assert.instance(promise, Promise)
      await promise
      assert.is(fileBytes(p)[65537], 77)
      bytesOf(m)[3] = 78
      await backend.syncAsync(m, 3, 1, false)
      assert.is(fileBytes(p)[4], 78, 'not durable: visible to read()')
      backend.close(m)
      const a = backend.alloc(10, OPTS)
      await backend.syncAsync(a, 0, 10)
      backend.close(a)
    }
  )

  syncTest('a syncAsync still running when the mapping is closed settles, and nothing is lost', async () => {
    const p = fileWith(4 * 65536)
    const m = backend.open(p, 'rw', 0, null, OPTS)
    bytesOf(m)[2 * 65536] = 5
    const pending = backend.syncAsync(m, 0, m.byteLength)
    backend.close(m)
    assert.is(m.byteLength, 0)
    await pending
    assert.is(fileBytes(p)[2 * 65536], 5)
  })

  sync.run()
}

/** advise and incore. */
export function hintsSuite(k: ContractKit): void {
  const { name, backend, contract } = k
  // --- advise and incore
  const hints = suite(`${name} backend: advise, incore`)
  const hintsTest = contract(hints)

  hintsTest("every advice, on 'r', 'rw' and alloc mappings: 'dontneed' never discards what was written", () => {
    const PAGE = backend.pageSize
    const p = fileWith(4 * PAGE)
    for (const kind of ['r', 'rw', 'alloc']) {
      const m = kind === 'alloc' ? backend.alloc(3 * PAGE, OPTS) : backend.open(p, kind as 'r' | 'rw', 0, null, OPTS)
      bytesOf(m).fill(0x5a, 0, 2 * PAGE)
      for (const advice of ['normal', 'sequential', 'random', 'willneed', 'dontneed'] as const) {
        backend.advise(m, advice)
        backend.advise(m, advice, 1, PAGE)
      }
      sameBytes(bytesOf(m).subarray(0, 2 * PAGE), new Uint8Array(2 * PAGE).fill(0x5a), `${kind}: what was written`)
      backend.close(m)
    }
  })

  hintsTest(
    'incore: [pages in memory, pages] of a range, pages aligned to file offsets, clamped to the mapping',
    () => {
      const PAGE = backend.pageSize
      const p = fileWith(3 * PAGE + 1)
      const m = backend.open(p, 'r', 1, null, OPTS) // file offset k + 1 at byte k: 4 pages
      const view = bytesOf(m)
      let touched = 0
      for (let i = 0; i < view.length; i += PAGE) touched += view[i]
      touched += view[view.length - 1] // every page in memory now
      assert.ok(touched >= 0)
      assert.equal(backend.incore(m, 0, view.length), [4, 4])
      assert.equal(backend.incore(m, PAGE - 3, 2), [1, 1])
      assert.equal(backend.incore(m, PAGE - 2, 2), [2, 2])
      assert.equal(backend.incore(m, 0, 0), [0, 0])
      assert.equal(backend.incore(m, 5 * PAGE, 10), [0, 0])
      backend.close(m)
    }
  )

  hints.run()
}
