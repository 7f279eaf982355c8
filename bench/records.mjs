// Records against a DataView loop over the same bytes (issue 9's two record rows, and the variants
// behind them). Each backend runs in its own process, so that one backend's records do not change
// what V8 learned about the other's:
//   node --expose-gc bench/records.mjs            both backends, a table
//   node --expose-gc bench/records.mjs native     one backend; add --json for bench/run.mjs
// RECORDS_ROUNDS (default 9) rounds after 5 untimed ones; every variant runs in turn in each round, so
// that a burst of load on this shared machine hits them alike; figures are medians, and the ratios are
// against the DataView loop (or the u32 field) of the same process. RECORDS_FROM=<package root> times
// another build of mmapfile (say, a checkout of main) with this same file; RECORDS_NODE_FLAGS adds
// flags to the children (--disallow-code-generation-from-strings: records as where a CSP forbids eval).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const RECORDS = 1024 * 1024
const VERTS = 10_000
const FIELD_READS = 1000
const WARMUP = 5 // untimed rounds: on a loaded machine V8's optimizing compiler thread can take several
const STEP = (VERTS / FIELD_READS) | 0 // a small integer: a division gives V8 a double
// The field rows take a fraction of a millisecond: each timed call does them REPEAT times.
const REPEAT = Number(process.env.RECORDS_REPEAT ?? 100)

// The loops, written as a user would: plain functions of the view.
function dataview(dv) {
  let sum = 0
  const end = dv.byteLength
  for (let at = 0; at < end; at += 16) sum += dv.getInt32(at, true) + dv.getFloat64(at + 8, true)
  return sum
}

function forOf(view) {
  let sum = 0
  for (const r of view) sum += r.a + r.b
  return sum
}

function atLoop(view) {
  let sum = 0
  for (let i = 0; i < view.length; i++) {
    const r = view.at(i)
    sum += r.a + r.b
  }
  return sum
}

// RECORDS_OTHER_TYPES=n: n more struct types, walked by other loops before the race, as a program
// with several struct types does (the library's code then serves them all).
function otherLoops(view) {
  let sum = 0
  for (const r of view) sum += r.a + r.b
  for (let i = 0; i < view.length; i++) sum += view.at(i).b
  return sum
}

function u32FieldAt(rec) {
  let sum = 0
  for (let k = 0; k < REPEAT; k++) for (let i = 0; i < FIELD_READS; i++) sum += rec.u.at(i * STEP)
  return sum
}

function u32FieldIndex(rec) {
  let sum = 0
  for (let k = 0; k < REPEAT; k++) for (let i = 0; i < FIELD_READS; i++) sum += rec.u[i * STEP]
  return sum
}

function vec3FieldAt(rec) {
  let sum = 0
  for (let k = 0; k < REPEAT; k++) for (let i = 0; i < FIELD_READS; i++) sum += rec.verts.at(i * STEP).x
  return sum
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Median ms of each [name, fn, arg] over `rounds` rounds after WARMUP untimed ones; the results must agree round to round. */
function race(variants, rounds) {
  const times = variants.map(() => [])
  const results = []
  for (let round = 0; round < WARMUP + rounds; round++) {
    variants.forEach(([name, fn, arg], i) => {
      globalThis.gc?.()
      const start = process.hrtime.bigint()
      const result = fn(arg)
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      if (round >= WARMUP) times[i].push(ms)
      if (round > 0 && results[i] !== result) throw new Error(`${name}: ${result} after ${results[i]}`)
      results[i] = result
    })
  }
  return Object.fromEntries(variants.map(([name], i) => [name, median(times[i])]))
}

/** The medians of every variant on backend `name`, in this process. */
async function measure(name, rounds) {
  const root = process.env.RECORDS_FROM
  const api = (await import(root ? pathToFileURL(join(root, `dist/esm/${name}-entry.mjs`)).href : `mmapfile/${name}`))
    .default
  const dir = mkdtempSync(join(tmpdir(), 'mmapfile-records-'))
  try {
    const Test = api.struct({ a: 'i32', b: 'f64' })
    const view = api.create(join(dir, 'records.bin'), RECORDS, Test)
    const dv = new DataView(view.buffer, view.byteOffset, view.byteLength)
    for (let i = 0; i < RECORDS; i++) {
      dv.setInt32(i * 16, i - 1000, true)
      dv.setFloat64(i * 16 + 8, i / 8, true)
    }
    const Vec3 = api.struct({ x: 'f32', y: 'f32', z: 'f32' })
    const mesh = api.malloc(1, api.struct({ n: 'u32', verts: [Vec3, VERTS] }))
    const words = api.malloc(1, api.struct({ n: 'u32', u: ['u32', VERTS] }))
    const meshDv = new DataView(mesh.buffer, mesh.byteOffset, mesh.byteLength)
    const wordsDv = new DataView(words.buffer, words.byteOffset, words.byteLength)
    for (let i = 0; i < VERTS; i++) {
      meshDv.setFloat32(4 + i * 12, i & 1023, true)
      wordsDv.setUint32(4 + i * 4, i & 1023, true)
    }
    for (let k = 0; k < Number(process.env.RECORDS_OTHER_TYPES ?? 0); k++) {
      const other = api.malloc(1000, api.struct({ a: 'i32', b: 'f64', [`c${k}`]: 'u8' }))
      for (let round = 0; round < 20; round++) otherLoops(other)
    }
    const medians = race(
      [
        ['dataview', dataview, dv],
        ['forOf', forOf, view],
        ['at', atLoop, view],
        ['u32FieldAt', u32FieldAt, words.at(0)],
        ['u32FieldIndex', u32FieldIndex, words.at(0)],
        ['vec3FieldAt', vec3FieldAt, mesh.at(0)]
      ],
      rounds
    )
    for (const key of ['u32FieldAt', 'u32FieldIndex', 'vec3FieldAt']) medians[key] /= REPEAT // ms per 1,000 reads
    api.close(view)
    api.free(mesh)
    api.free(words)
    return medians
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Runs this file for each backend in a child process; resolves to { native: medians, wasm: medians } (a backend that fails to load is left out). */
export function recordRows(rounds, env = {}) {
  const out = {}
  for (const name of ['native', 'wasm']) {
    const flags = (process.env.RECORDS_NODE_FLAGS ?? '').split(' ').filter(Boolean)
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', ...flags, fileURLToPath(import.meta.url), name, '--json'],
      {
        encoding: 'utf8',
        env: { ...process.env, RECORDS_ROUNDS: String(rounds), ...env }
      }
    )
    if (child.status !== 0) {
      console.log(`(records on ${name}: ${child.stderr.trim().split('\n').at(-1)})`)
      continue
    }
    out[name] = JSON.parse(child.stdout)
  }
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.env.RECORDS_ROUNDS ?? 9)
  const [name, json] = process.argv.slice(2)
  if (name !== undefined) {
    const medians = await measure(name, rounds)
    console.log(json === '--json' ? JSON.stringify(medians) : medians)
  } else {
    const all = recordRows(rounds)
    console.log(
      `records: median of ${rounds} rounds${process.env.RECORDS_FROM ? ` (${process.env.RECORDS_FROM})` : ''}`
    )
    for (const [backend, m] of Object.entries(all)) {
      const rows = [
        ['dataview', m.dataview, 'ms', m.dataview],
        ['forOf', m.forOf, 'ms', m.dataview],
        ['at', m.at, 'ms', m.dataview],
        ['u32FieldAt', m.u32FieldAt, 'ms / 1,000', m.u32FieldAt],
        ['u32FieldIndex', m.u32FieldIndex, 'ms / 1,000', m.u32FieldAt],
        ['vec3FieldAt', m.vec3FieldAt, 'ms / 1,000', m.u32FieldAt]
      ]
      for (const [key, ms, unit, base] of rows) {
        console.log(
          `  ${backend.padEnd(7)} ${key.padEnd(14)} ${ms.toFixed(4).padStart(10)} ${unit.padEnd(10)} ${(ms / base).toFixed(2)}x`
        )
      }
    }
  }
}
