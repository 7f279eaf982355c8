// npm run bench (bench/run.mjs): the rows of resident memory and of the event loop during syncAsync.
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROUNDS } from './lib.mjs'

/** Rows 8, 8b and 8c of the table; `ctx` is run.mjs's file, data and table. */
export async function memoryRows(ctx) {
  residentAfterOpen(ctx)
  await stallDuringSyncAsync(ctx)
  await residentAfterSmallOpens(ctx)
}

// 8. Resident memory after open, against the mapped length.
function residentAfterOpen({ backends, table, big, FILE_BYTES, PAGE }) {
  // The first byte of every page of the file as the rows above left it, folded: the touch loop's result
  // is checked against it, so that V8 cannot drop the loads that touch the pages.
  let expected = 0
  const fd = openSync(big, 'r')
  const byte = new Uint8Array(1)
  for (let at = 0; at < FILE_BYTES; at += PAGE) {
    readSync(fd, byte, 0, 1, at)
    expected ^= byte[0]
  }
  closeSync(fd)
  const perBackend = backends.map(({ api }) => {
    globalThis.gc?.()
    const before = process.memoryUsage().rss
    const view = api.open(big, Uint8Array, 'rw')
    let touch = 0
    for (let i = 0; i < view.length; i += PAGE) touch ^= view[i]
    const grown = (process.memoryUsage().rss - before) / FILE_BYTES
    api.close(view)
    if (touch !== expected) throw new Error('resident memory row: the pages read back wrong')
    return grown
  })
  table.rows.push({
    task: 'resident memory after open + touch, x mapped length',
    target: 'wasm <= 1.1x',
    memory: perBackend,
    limits: { wasm: 1.1 }
  })
}

// 8b. The longest turn of the event loop that `await syncAsync(view)` holds, every page of the file
// changed, against the whole call: a ticker on setImmediate records the longest gap between its turns.
async function stallDuringSyncAsync({ backends, table, big, FILE_MIB, PAGE }) {
  const stalls = []
  const perBackend = []
  for (const { api } of backends) {
    const view = api.open(big, Uint8Array, 'rw')
    const rounds = []
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < view.length; i += PAGE) view[i] ^= 0xff
      let longest = 0
      let last = performance.now()
      let ticking = true
      const tick = () => {
        const now = performance.now()
        longest = Math.max(longest, now - last)
        last = now
        if (ticking) setImmediate(tick)
      }
      setImmediate(tick)
      const start = performance.now()
      await api.syncAsync(view)
      const whole = performance.now() - start
      ticking = false
      rounds.push([longest, whole])
    }
    api.close(view)
    rounds.sort((a, b) => a[0] / a[1] - b[0] / b[1])
    const [longest, whole] = rounds[rounds.length >> 1]
    stalls.push(longest)
    perBackend.push(whole)
  }
  table.row(
    `longest event-loop stall during await syncAsync, every page of ${FILE_MIB} MiB changed (vs the whole syncAsync)`,
    'wasm <= 0.1x',
    null,
    stalls,
    {
      limits: { wasm: 0.1 },
      relativeTo: perBackend,
      note: backends.map(({ name }, i) => `${name}: the whole syncAsync ${perBackend[i].toFixed(1)} ms`).join('; ')
    }
  )
}

// 8c. Resident memory after 10,000 open + close of small files, then a second of idle (the wasm
// backend pools the instances of closed views, and empties the pool once it is idle).
async function residentAfterSmallOpens({ backends, table, dir, pattern, PAGE, MiB }) {
  const files = []
  for (let i = 0; i < 100; i++) {
    const path = join(dir, `small-${i}.bin`)
    writeFileSync(path, pattern.subarray(i * PAGE, (i + 1) * PAGE))
    files.push(path)
  }
  const grown = []
  for (const { api } of backends) {
    globalThis.gc?.()
    const before = process.memoryUsage().rss
    for (let i = 0; i < 10_000; i++) api.close(api.open(files[i % 100]))
    await new Promise((resolve) => setTimeout(resolve, 1000))
    grown.push((process.memoryUsage().rss - before) / MiB)
  }
  table.rows.push({
    task: 'resident memory after 10,000 open + close of 4 KiB files, then 1 s idle (MiB more than before)',
    target: 'wasm <= +64 MiB',
    memory: grown,
    unit: 'MiB',
    limits: { wasm: 64 }
  })
}
