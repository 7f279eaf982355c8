// Element access on typed-array views against the same loop over a plain typed array: what a view
// costs per `view[i]` read or write (nothing, as long as V8 sees the same kind of object as for a
// plain typed array). Each backend runs in its own process:
//   node --expose-gc bench/elements.mjs            both backends, a table
//   node --expose-gc bench/elements.mjs native     one backend (add --json for a machine-readable line)
// ELEMENTS_ROUNDS (default 9) rounds after 5 untimed ones, every variant in turn in each round; figures
// are medians, ratios are against the plain typed array in the same process. ELEMENTS_FROM=<package
// root> times another build of mmapfile (say, a checkout of main) with this same file.
//
// Every loop is compiled apart for each variant (new Function over its text), so that each keeps its own
// type feedback: `view` loops only ever see views, `plain` loops only plain arrays, and `mixed` loops
// are called with both (a program that passes views and plain arrays to the same function), timed on
// the view.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { median } from './lib.mjs'

const BYTES = 8 * 1024 * 1024
const WARMUP = 5

function read(a) {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += a[i]
  return sum
}

function write(a) {
  for (let i = 0; i < a.length; i++) a[i] = i & 127
  return a.length
}

/** A copy of `fn` with its own type feedback: a text of its own, as V8 shares what it compiled from one text. */
let copies = 0
function fresh(fn) {
  return new Function(`// copy ${++copies}\nreturn (${fn.toString()})`)()
}

/** Median ms of each [name, fn, arg] over `rounds` rounds after WARMUP untimed ones. */
function race(variants, rounds) {
  const times = variants.map(() => [])
  for (let round = 0; round < WARMUP + rounds; round++) {
    variants.forEach(([, fn, arg, other], i) => {
      if (other !== undefined) fn(other) // a mixed loop sees a plain array before each timed call
      globalThis.gc?.()
      const start = process.hrtime.bigint()
      fn(arg)
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      if (round >= WARMUP) times[i].push(ms)
    })
  }
  return Object.fromEntries(variants.map(([name], i) => [name, median(times[i])]))
}

async function measure(name, rounds) {
  const root = process.env.ELEMENTS_FROM
  const api = (await import(root ? pathToFileURL(join(root, `dist/esm/${name}-entry.mjs`)).href : `mmapfile/${name}`))
    .default
  const dir = mkdtempSync(join(tmpdir(), 'mmapfile-elements-'))
  try {
    const variants = []
    for (const Type of [Uint8Array, Float64Array]) {
      const count = BYTES / Type.BYTES_PER_ELEMENT
      const view = api.create(join(dir, `${Type.name}.bin`), count, Type)
      const plain = new Type(count)
      const t = Type === Uint8Array ? 'u8' : 'f64'
      for (const [op, fn] of [
        ['read', read],
        ['write', write]
      ]) {
        variants.push([`${t} ${op} plain`, fresh(fn), plain])
        variants.push([`${t} ${op} view`, fresh(fn), view])
        variants.push([`${t} ${op} mixed`, fresh(fn), view, plain])
      }
    }
    return race(variants, rounds)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.env.ELEMENTS_ROUNDS ?? 9)
  const [name, json] = process.argv.slice(2)
  if (name !== undefined) {
    const medians = await measure(name, rounds)
    console.log(json === '--json' ? JSON.stringify(medians) : medians)
  } else {
    console.log(
      `elements: ${BYTES / 1024 / 1024} MiB per loop, median of ${rounds} rounds${process.env.ELEMENTS_FROM ? ` (${process.env.ELEMENTS_FROM})` : ''}`
    )
    for (const backend of ['native', 'wasm']) {
      const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), backend, '--json'], {
        encoding: 'utf8',
        env: { ...process.env, ELEMENTS_ROUNDS: String(rounds) }
      })
      if (child.status !== 0) {
        console.log(`(${backend}: ${child.stderr.trim().split('\n').at(-1)})`)
        continue
      }
      const m = JSON.parse(child.stdout)
      for (const [key, ms] of Object.entries(m)) {
        const base = m[key.replace(/ (view|mixed)$/, ' plain')]
        console.log(
          `  ${backend.padEnd(7)} ${key.padEnd(16)} ${ms.toFixed(3).padStart(8)} ms ${(ms / base).toFixed(2)}x`
        )
      }
    }
  }
}
