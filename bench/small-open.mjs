// Small files, warmed up: open + read one byte + close of a 4 KiB file, 20,000 times a round, against
// readFileSync and the C floor (bench/syscall-floor.c) in the same run. npm run bench times 1,000 of them
// after one untimed round, closer to a program's first calls; this one shows what the code costs once
// V8 has compiled it, so that the part above the system calls can be told from the calls themselves.
//   node --expose-gc bench/small-open.mjs
// SMALL_ROUNDS (default 5) rounds after one untimed round; figures are medians, in µs per file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, syscallFloor } from './lib.mjs'

const OPENS = 20_000
const ROUNDS = Number(process.env.SMALL_ROUNDS ?? 5)

const dir = mkdtempSync(join(tmpdir(), 'mmapfile-small-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
const small = join(dir, 'small.bin')
writeFileSync(small, new Uint8Array(4096).fill(7))

/** Median µs per call of `once` over ROUNDS rounds of OPENS calls, after one untimed round. */
function perOpen(once) {
  const times = []
  for (let round = 0; round <= ROUNDS; round++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < OPENS; i++) once()
    if (round > 0) times.push(Number(process.hrtime.bigint() - start) / 1e3 / OPENS)
  }
  return median(times)
}

const contenders = [['readFileSync', () => readFileSync(small)[0]]]
for (const name of ['native', 'wasm']) {
  try {
    const api = (await import(`mmapfile/${name}`)).default
    contenders.push([
      name,
      () => {
        const view = api.open(small)
        const byte = view[0]
        api.close(view)
        return byte
      }
    ])
  } catch (error) {
    console.log(`(${name} backend not available: ${error.message})`)
  }
}

const floor = syscallFloor(dir, small)
const rows = contenders.map(([name, once]) => {
  if (once() !== 7) throw new Error(`${name}: wrong byte`)
  return { name, us: perOpen(once) }
})
const base = rows[0].us
console.log(`4 KiB file, open + read one byte + close, ${OPENS} a round, median of ${ROUNDS} rounds (µs per file)`)
console.table(
  rows.map(({ name, us }) => ({
    contender: name,
    µs: us.toFixed(2),
    'vs readFileSync': `${(us / base).toFixed(2)}x`,
    'vs C mmap floor': floor === null ? '' : `${(us / floor.mapped).toFixed(2)}x`
  }))
)
if (floor !== null) console.log(`C floor: mmap path ${floor.mapped} µs, read path ${floor.read} µs`)
