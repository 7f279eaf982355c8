// node scripts/uvu-file.mjs <test file> <results file>: runs one uvu test file and writes uvu's own
// counts to <results file> as JSON, { passed, failed, skipped }, for scripts/test.mjs to add up
// instead of parsing what uvu prints.
//
// uvu 0.5's exec() prints its totals and returns nothing, but it only adds up what each suite's
// runner returns: run() queues a runner in globalThis.UVU_QUEUE that resolves to
// [errors or true, passed, skipped, total]. With globalThis.UVU_DEFER set before uvu loads (as
// uvu's own CLI and `uvu/run` do), run() queues and starts nothing; this wraps every queued runner
// to keep its numbers, then calls uvu's exec(), which prints as it always does. A file that does
// not load, a process that exits before its suites end (uvu says "Exiting early"), a suite queued
// after the file loaded or a runner of another shape writes no results, which scripts/test.mjs counts as a failure.
import { rmSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [file, resultsFile] = process.argv.slice(2)
if (file === undefined || resultsFile === undefined) {
  console.error('usage: node scripts/uvu-file.mjs <test file> <results file>')
  process.exit(2)
}

globalThis.UVU_DEFER = 1
// run() queues into UVU_QUEUE[UVU_INDEX || 0]: one group, unnamed, as exec() without the CLI has.
globalThis.UVU_QUEUE = [[null]]
const { exec } = await import('uvu')

await import(pathToFileURL(resolve(file)).href)

const totals = { passed: 0, failed: 0, skipped: 0 }
let foreign = null
const wrapped = new WeakSet()
for (const group of globalThis.UVU_QUEUE) {
  for (let i = 1; i < group.length; i++) {
    const runner = group[i]
    group[i] = async () => {
      const result = await runner()
      if (!Array.isArray(result) || result.length !== 4 || !result.slice(1).every(Number.isInteger)) {
        foreign ??= `a suite's runner returned ${JSON.stringify(result)}, not [errors, passed, skipped, total]: not the uvu 0.5 this script reads`
        return [true, 0, 0, 0]
      }
      const [, passed, skipped, total] = result
      totals.passed += passed
      totals.failed += total - passed
      totals.skipped += skipped
      return result
    }
    wrapped.add(group[i])
  }
}
await exec()
// exec() took each group's name off: what is left is runners, each wrapped here, unless a suite was
// queued after the file had loaded (run() called late), whose counts this would not keep
const late = () => globalThis.UVU_QUEUE.some((group) => group.some((runner) => !wrapped.has(runner)))
if (late()) foreign ??= 'a suite was queued after the file had loaded: its counts were not kept'
if (totals.passed + totals.failed + totals.skipped === 0) foreign ??= 'the file registered no tests'
if (foreign !== null) {
  console.error(`uvu-file: ${foreign}`)
  process.exitCode = 1
} else {
  writeFileSync(resultsFile, JSON.stringify(totals))
  process.on('exit', () => {
    if (!late()) return
    rmSync(resultsFile, { force: true })
    console.error('uvu-file: a suite was queued after the others had run: it never ran')
    process.exitCode = 1
  })
}
