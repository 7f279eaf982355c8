// The seed example: a C struct { int a; double b; } in a file, created, closed and reopened,
// on whichever backend `mmapfile` picked. Run it with `npm start`.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mmapfile from 'mmapfile'

const dir = mkdtempSync(join(tmpdir(), 'mmapfile-quickstart-'))
const file = join(dir, 'test.bin')
const timings = []
function timed(label, fn) {
  const start = process.hrtime.bigint()
  const result = fn()
  timings.push({ step: label, microseconds: Number(process.hrtime.bigint() - start) / 1000 })
  return result
}

try {
  console.log(
    `mmapfile backend: ${mmapfile.backend}` +
      (mmapfile.backendError ? ` (native not used: ${mmapfile.backendError.message})` : '')
  )

  // struct test { int a; double b; };
  const Test = mmapfile.struct({ a: 'i32', b: 'f64' })
  console.log(`sizeof(struct test) = ${Test.byteLength}, offsetof(b) = ${Test.offsetOf('b')}`)

  const COUNT = 1000
  const created = timed('create 1000 structs', () => mmapfile.create(file, COUNT, Test))
  timed('write a and b', () => {
    for (let i = 0; i < COUNT; i++) {
      const record = created.at(i)
      record.a = i
      record.b = i / 2
    }
  })
  timed('close (write back)', () => mmapfile.close(created))
  console.log(`file size: ${statSync(file).size} bytes`)

  const reopened = timed('open', () => mmapfile.open(file, Test))
  const sum = timed('read a and b', () => {
    let total = 0
    for (const record of reopened) total += record.a + record.b
    return total
  })
  const last = reopened.at(-1)
  console.log(`reopened ${reopened.length} records; last = { a: ${last.a}, b: ${last.b} }; sum = ${sum}`)
  timed('close', () => mmapfile.close(reopened))
  console.log(`after close the view has length ${reopened.length}`)
  console.table(timings.map(({ step, microseconds }) => ({ step, 'time (µs)': microseconds.toFixed(1) })))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
