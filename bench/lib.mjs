// The measuring and the table of npm run bench (bench/run.mjs holds the rows).
import { closeSync, fsyncSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Median milliseconds of `fn` over ROUNDS rounds; `setup` runs untimed before each round. */
export function measure(fn, setup = () => {}) {
  const times = []
  for (let round = 0; round < ROUNDS; round++) {
    const state = setup()
    globalThis.gc?.()
    const start = process.hrtime.bigint()
    fn(state)
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return median(times)
}

/**
 * As measure, for rows of many short calls: one untimed round first, and no forced collection before
 * each round. A forced full collection makes V8 throw away the optimized code of every function that
 * embeds an object it frees (--trace-deopt: "reason: weak objects"), so the round after it would time
 * re-optimization more than the calls (1,000 wasm open + close of a 4 KiB file: 30 ms after gc(),
 * 17 ms without, .scratch measurement); collections still happen as they would in a program.
 */
export function measureWarm(fn) {
  fn()
  const times = []
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint()
    fn()
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return median(times)
}

// A plain float sum: V8 runs it at about 1.4 ns a word here, where an int32-wrapping sum with `| 0`
// took 6.5 ns and hid what is measured (node /tmp/sum.mjs, 64 Mi words). It is not exact past 2^53,
// but every contender adds the same words in the same order, so the results must agree.
export function sumWords(words) {
  let sum = 0
  for (let i = 0; i < words.length; i++) sum += words[i]
  return sum
}

export function fillPattern(bytes) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2)
  for (let i = 0; i < words.length; i++) words[i] = i * 2654435761
}

/** Bytes this process has passed to write(2)/pwrite(2) (Linux /proc/self/io wchar); page-cache write-back of a shared mapping is not counted. */
export function writtenBytes() {
  const match = /^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))
  return match ? Number(match[1]) : NaN
}

export function fsyncWrite(path, data) {
  writeFileSync(path, data)
  const fd = openSync(path, 'r+')
  fsyncSync(fd)
  closeSync(fd)
}

/** What the small-file row cannot go below here: the system calls alone, in C (null where no C compiler). */
export function syscallFloor(dir, small) {
  const binary = join(dir, 'syscall-floor')
  const compiled = spawnSync('cc', ['-O2', '-o', binary, fileURLToPath(new URL('syscall-floor.c', import.meta.url))])
  const run = compiled.status === 0 ? spawnSync(binary, [small], { encoding: 'utf8' }) : null
  if (run?.status !== 0) return null
  const [mapped, read] = run.stdout.trim().split(' ').map(Number)
  return { mapped, read }
}

/**
 * The table every row goes into. A row's `limits` is its target as numbers: the highest ratio allowed
 * per backend (a backend it does not name has no target); `target` says the same in words. Memory rows
 * carry `memory` (per backend) and `unit` instead of times.
 */
export class Table {
  rows = []

  constructor(backends) {
    this.backends = backends
  }

  row(task, target, baseline, perBackend, { note = '', limits = {}, relativeTo = null } = {}) {
    this.rows.push({ task, target, baseline, perBackend, note, limits, relativeTo })
  }

  /** 'ok', 'MISS (wasm)' or '' (no target): whether each backend the row has a limit for met it. */
  verdict(r, values) {
    const names = this.backends.map(({ name }) => name)
    const missed = names.filter((name, i) => name in r.limits && !(values[i] <= r.limits[name]))
    if (!names.some((name) => name in r.limits)) return ''
    return missed.length === 0 ? 'ok' : `MISS (${missed.join(', ')})`
  }

  line(r) {
    const line = { task: r.task, target: r.target }
    if (r.memory) {
      this.backends.forEach(({ name }, i) => {
        line[`${name} ratio`] =
          r.unit === 'MiB'
            ? `${r.memory[i] >= 0 ? '+' : ''}${r.memory[i].toFixed(1)} MiB`
            : `${r.memory[i].toFixed(2)}x`
      })
      line.result = this.verdict(r, r.memory)
      return line
    }
    line['node:fs ms'] = r.baseline === null ? '' : r.baseline.toFixed(1)
    const ratios = this.backends.map((_, i) => r.perBackend[i] / (r.relativeTo ? r.relativeTo[i] : r.baseline))
    this.backends.forEach(({ name }, i) => {
      line[`${name} ms`] = r.perBackend[i].toFixed(r.perBackend[i] < 1 ? 3 : 1)
      line[`${name} ratio`] = `${ratios[i].toFixed(2)}x`
    })
    line.result = this.verdict(r, ratios)
    return line
  }

  print(fileMib, floor) {
    console.log(
      `mmapfile bench: ${fileMib} MiB file, median of ${ROUNDS} rounds, ratio = time / baseline time (lower is better); ` +
        'the baseline is node:fs unless the task says otherwise'
    )
    console.table(this.rows.map((r) => this.line(r)))
    if (floor !== null) {
      console.log(
        `4 KiB file in C (bench/syscall-floor.c): open+fstat+mmap+touch+munmap ${floor.mapped} µs, ` +
          `open+fstat+read+close ${floor.read} µs: the mapping path costs ${(floor.mapped / floor.read).toFixed(1)}x before any JavaScript`
      )
    } else {
      console.log('(bench/syscall-floor.c did not compile or run here: the small-file row has no native target)')
    }
    for (const r of this.rows) if (r.note) console.log(`${r.task}: ${r.note}`)
  }
}
