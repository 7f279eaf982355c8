// npm run bench: mmapfile against plain node:fs on one 256 MiB file (BENCH_MIB), in one run; and
// records against a DataView loop (bench/records.mjs, one child process per backend).
// Every figure is a median over ROUNDS rounds, and every ratio is against its baseline measured in the
// same run (the machine is shared and noisy: ratios travel, absolute times do not). Each row prints its
// target and whether this run met it (ok/MISS); a row without a target prints neither.
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RECORDS, recordRows } from './records.mjs'
import {
  ROUNDS,
  Table,
  fillPattern,
  fsyncWrite,
  measure,
  measureWarm,
  median,
  sumWords,
  syscallFloor,
  writtenBytes
} from './lib.mjs'
import { memoryRows } from './memory-rows.mjs'

const MiB = 1024 * 1024
const FILE_MIB = Number(process.env.BENCH_MIB ?? 256)
const FILE_BYTES = FILE_MIB * MiB
const PAGE = 4096
const RANDOM_READS = 20_000
const SMALL_OPENS = 1_000

const backends = []
for (const name of ['native', 'wasm']) {
  try {
    backends.push({ name, api: (await import(`mmapfile/${name}`)).default })
  } catch (error) {
    console.log(`(${name} backend not available: ${error.message})`)
  }
}

const dir = mkdtempSync(join(tmpdir(), 'mmapfile-bench-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
const big = join(dir, 'big.bin')
const small = join(dir, 'small.bin')
const scratch = join(dir, 'scratch.bin')
const table = new Table(backends)
const row = table.row.bind(table)
const rows = table.rows

// The data: a 256 MiB file of a known pattern, and a 4 KiB one.
const pattern = new Uint8Array(FILE_BYTES)
fillPattern(pattern)
fsyncWrite(big, pattern)
fsyncWrite(small, pattern.subarray(0, PAGE))
const expectedSum = sumWords(new Uint32Array(pattern.buffer))

const floor = syscallFloor(dir, small)

// The same pseudo-random page numbers for every contender.
const pages = Uint32Array.from({ length: RANDOM_READS }, (_, i) => (((i + 1) * 2654435761) >>> 0) % (FILE_BYTES / PAGE))

// 1. Sequential scan: sum every Uint32 of the file.
{
  const baseline = measure(() => {
    const data = readFileSync(big)
    if (sumWords(new Uint32Array(data.buffer, data.byteOffset, data.byteLength >> 2)) !== expectedSum)
      throw new Error('scan')
  })
  const perBackend = backends.map(({ api }) =>
    measure(() => {
      const view = api.open(big, Uint32Array)
      if (sumWords(view) !== expectedSum) throw new Error('scan')
      api.close(view)
    })
  )
  // What no way of getting the bytes can beat: the same sum over bytes already in memory.
  const inMemory = measure(() => {
    if (sumWords(new Uint32Array(pattern.buffer)) !== expectedSum) throw new Error('scan')
  })
  row(`scan ${FILE_MIB} MiB (open + sum u32 + close)`, 'native >= 3x faster', baseline, perBackend, {
    limits: { native: 1 / 3 },
    note:
      `the sum alone over bytes already in memory ${inMemory.toFixed(1)} ms (${(inMemory / baseline).toFixed(2)}x), the floor of this row; ` +
      backends.map(({ name }, i) => `${name} ${(perBackend[i] / inMemory).toFixed(2)}x of it`).join(', ')
  })
}

// 2. Random page reads, 20,000 random 4 KiB pages of the open file: fs.readSync of the page
// against indexing the view. Once taking one u32 of each page (a lookup, as in a B-tree), once
// summing the whole page (where the JavaScript sum costs as much as the read).
{
  const page = new Uint32Array(PAGE / 4)
  const pageBytes = new Uint8Array(page.buffer)
  const fd = openSync(big, 'r')
  const lookups = measure(() => {
    let sum = 0
    for (let i = 0; i < RANDOM_READS; i++) {
      readSync(fd, pageBytes, 0, PAGE, pages[i] * PAGE)
      sum += page[i & 1023]
    }
    return sum
  })
  const sums = measure(() => {
    let sum = 0
    for (let i = 0; i < RANDOM_READS; i++) {
      readSync(fd, pageBytes, 0, PAGE, pages[i] * PAGE)
      sum += sumWords(page)
    }
    return sum
  })
  closeSync(fd)
  const views = backends.map(({ api }) => api.open(big, Uint32Array))
  row(
    '20,000 random 4 KiB pages: one u32 of each',
    'native >= 3x faster',
    lookups,
    views.map((view) =>
      measure(() => {
        let sum = 0
        for (let i = 0; i < RANDOM_READS; i++) sum += view[pages[i] * 1024 + (i & 1023)]
        return sum
      })
    ),
    { limits: { native: 1 / 3 } }
  )
  row(
    '20,000 random 4 KiB pages: sum of each',
    '',
    sums,
    views.map((view) =>
      measure(() => {
        let sum = 0
        for (let i = 0; i < RANDOM_READS; i++) sum += sumWords(view.subarray(pages[i] * 1024, pages[i] * 1024 + 1024))
        return sum
      })
    )
  )
  backends.forEach(({ api }, i) => api.close(views[i]))
}

// 3. Small files: 1,000 times open + read one word + close of a 4 KiB file.
{
  const baseline = measureWarm(() => {
    for (let i = 0; i < SMALL_OPENS; i++) readFileSync(small)
  })
  const perBackend = backends.map(({ api }) =>
    measureWarm(() => {
      for (let i = 0; i < SMALL_OPENS; i++) {
        const view = api.open(small)
        if (view[0] !== pattern[0]) throw new Error('small')
        api.close(view)
      }
    })
  )
  // native: within 1.5x of the C floor (open + fstat + mmap + touch + munmap, µs each); <= 1x is the stretch.
  const nativeLimit = floor === null ? {} : { native: (1.5 * floor.mapped * SMALL_OPENS) / 1000 / baseline }
  row(
    '1,000 x open + close of a 4 KiB file',
    'wasm <= 2x; native <= 1.5x the C floor (1x: stretch)',
    baseline,
    perBackend,
    { limits: { wasm: 2, ...nativeLimit } }
  )
}

// 4. Create, fill and close (durable) 256 MiB. The node:fs side fills a fresh buffer too: both pay
// for the pages the data is produced in.
{
  const baseline = measure(() => {
    const data = Buffer.allocUnsafeSlow(FILE_BYTES)
    data.set(pattern)
    fsyncWrite(scratch, data)
  })
  const perBackend = backends.map(({ api }) =>
    measure(() => {
      const view = api.create(scratch, FILE_BYTES)
      view.set(pattern)
      api.close(view)
    })
  )
  row(
    `create + fill + close ${FILE_MIB} MiB (vs fill a buffer + writeFileSync + fsync)`,
    'native <= 1x; wasm <= 1.1x',
    baseline,
    perBackend,
    { limits: { native: 1, wasm: 1.1 } }
  )
}

// 5. Open alone: what the wasm backend pays to read the file in.
{
  const baseline = measure(() => readFileSync(big))
  const perBackend = backends.map(({ api }) => {
    let view = null
    const time = measure(
      () => {
        view = api.open(big, Uint8Array, 'rw')
      },
      () => {
        if (view) api.close(view)
      }
    )
    api.close(view)
    return time
  })
  row(`open ${FILE_MIB} MiB rw (vs readFileSync)`, 'wasm <= 1.25x', baseline, perBackend, { limits: { wasm: 1.25 } })
}

// 6. Write-back after changing one byte, and after changing everything.
{
  const full = backends.map(({ api }) =>
    measure(
      (view) => api.close(view),
      () => {
        const view = api.open(big, Uint8Array, 'rw')
        for (let i = 0; i < view.length; i += 4096) view[i] ^= 0xff
        return view
      }
    )
  )
  const written = []
  const one = backends.map(({ api }) => {
    let before = 0
    const time = measure(
      (view) => {
        before = writtenBytes()
        api.close(view)
        written.push(writtenBytes() - before)
      },
      () => {
        const view = api.open(big, Uint8Array, 'rw')
        view[FILE_BYTES >> 1] ^= 0xff
        return view
      }
    )
    return time
  })
  const baseline = measure(() => fsyncWrite(scratch, pattern))
  row('close after changing every page (vs writeFileSync + fsync)', 'wasm <= 1.25x', baseline, full, {
    limits: { wasm: 1.25 }
  })
  const perClose = written.length / backends.length
  const note = backends
    .map(({ name }, i) => `${name}: ${median(written.slice(i * perClose, (i + 1) * perClose))} bytes written by close`)
    .join('; ')
  row('close after changing one byte (vs the line above)', 'wasm <= 0.1x, one chunk written', null, one, {
    note,
    limits: { wasm: 0.1 },
    relativeTo: full
  })
}

// 7. Two views of one file, as a header and its records are mapped: a one-page header window and a
// records window after it, one change in each, then a sync of both (on wasm the two share a 64 KiB
// chunk, the case the in-process coherence handles), against a sync of the records window alone.
{
  const alone = backends.map(({ api }) => {
    const records = api.open(big, Uint8Array, 'rw', { offset: PAGE })
    const time = measure(
      () => api.sync(records),
      () => {
        records[1] ^= 0xff
      }
    )
    api.close(records)
    return time
  })
  const pair = backends.map(({ api }) => {
    const header = api.open(big, Uint32Array, 'rw', { offset: 0, length: PAGE })
    const records = api.open(big, Uint8Array, 'rw', { offset: PAGE })
    const time = measure(
      () => {
        api.sync(header)
        api.sync(records)
      },
      () => {
        header[0] += 1
        records[1] ^= 0xff
      }
    )
    api.close(records)
    api.close(header)
    return time
  })
  const note = backends.map(({ name }, i) => `${name}: the records window alone ${alone[i].toFixed(1)} ms`).join('; ')
  row(
    'sync of a header + records pair of views, one change in each (vs the records view alone)',
    'wasm <= 1.2x',
    null,
    pair,
    { note, limits: { wasm: 1.2 }, relativeTo: alone }
  )
}

// 8, 8b, 8c: resident memory and the event loop during syncAsync (bench/memory-rows.mjs).
await memoryRows({ backends, table, big, dir, pattern, FILE_MIB, FILE_BYTES, PAGE, MiB })

// 9. (mmapio branch; a block of its own, kept apart from the rows above) sync after changing one
// page of a 16 MiB view, durable against { durable: false } (visible to other readers, the disk not
// waited for); node:fs: pwrite of the page with and without fsync. SYNCS of each per round; the note
// gives the same with the sync narrowed to the changed page ({ offset, length }).
{
  const { writeSync } = await import('node:fs')
  const SYNCS = 50
  const VIEW = Math.min(16, FILE_MIB) * MiB // the pattern holds FILE_MIB
  const at = (i) => ((i * 97) % (VIEW / PAGE)) * PAGE
  const visible = join(dir, 'visible.bin')
  fsyncWrite(visible, pattern.subarray(0, VIEW))
  const page = pattern.subarray(0, PAGE)
  const fd = openSync(visible, 'r+')
  const plain = (durable) =>
    measure(() => {
      for (let i = 0; i < SYNCS; i++) {
        writeSync(fd, page, 0, PAGE, at(i))
        if (durable) fsyncSync(fd)
      }
    })
  const synced = (durable, narrow) =>
    backends.map(({ api }) => {
      const view = api.open(visible, Uint8Array, 'rw')
      const time = measure(() => {
        for (let i = 0; i < SYNCS; i++) {
          view[at(i)] ^= 0xff
          api.sync(view, narrow ? { offset: at(i), length: PAGE, durable } : { durable })
        }
      })
      api.close(view)
      return time
    })
  const durable = synced(true, false)
  const notDurable = synced(false, false)
  const narrow = [synced(true, true), synced(false, true)]
  row(
    `${SYNCS} x (change one page of a ${VIEW / MiB} MiB view + sync), durable (vs pwrite of the page + fsync)`,
    '',
    plain(true),
    durable
  )
  const note = backends
    .map(
      ({ name }, i) =>
        `${name}: ${(durable[i] / notDurable[i]).toFixed(1)}x faster than durable; ` +
        `sync of the page alone: ${narrow[0][i].toFixed(1)} ms durable, ${narrow[1][i].toFixed(1)} ms not`
    )
    .join('; ')
  row('the same with { durable: false } (vs pwrite of the page alone)', '', plain(false), notDurable, { note })
  closeSync(fd)
}

// 10. Records (bench/records.mjs, each backend in a child process of its own): for-of over 1 Mi
// records against a DataView loop over the same bytes, and an array-of-structs field read through
// at(i) against a ['u32', 10000] field read the same way, both in the same child.
{
  const records = recordRows(ROUNDS)
  const of = (key) => backends.map(({ name }) => records[name]?.[key] ?? NaN)
  const mib = RECORDS / (1024 * 1024)
  row(
    `for-of over ${mib} Mi records { a: i32, b: f64 }, reading both (vs a DataView loop)`,
    '<= 3x',
    null,
    of('forOf'),
    {
      limits: { native: 3, wasm: 3 },
      relativeTo: of('dataview'),
      note: backends.map(({ name }, i) => `${name}: the DataView loop ${of('dataview')[i].toFixed(2)} ms`).join('; ')
    }
  )
  row(
    '[Vec3, 10000] field: 1,000 x rec.verts.at(i).x (vs a [u32, 10000] field, rec.u.at(i))',
    '<= 2x',
    null,
    of('vec3FieldAt'),
    {
      limits: { native: 2, wasm: 2 },
      relativeTo: of('u32FieldAt'),
      note: backends
        .map(({ name }, i) => `${name}: 1,000 reads of the u32 field ${of('u32FieldAt')[i].toFixed(3)} ms`)
        .join('; ')
    }
  )
}

table.print(FILE_MIB, floor)
