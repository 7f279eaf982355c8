// create with its system calls failing: the file as it was, or emptied and said so; a new file removed.
// kit.ts says how faults are injected.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Ctx } from '../ctx'
import { tmpFile } from '../../helpers'
import { checkFault } from './kit'
import type { FaultKit, Reported } from './kit'

/** create over an existing file and of a new one, refused at each step. */
export function createFaults(s: Test, ctx: Ctx, kit: FaultKit): void {
  const { PAGE, native, test, child } = kit
  // --- create over an existing file: as it was, or emptied and said so; a new file is removed

  interface CreateRun {
    n: number
    created?: true
    error?: Reported
    state?: string
    held?: string[]
  }
  const sizeChanges: Array<[string, string, string, number]> = [['ftruncate', 'EFBIG', 'size change', 3]]
  if (native) sizeChanges.push(['fallocate', 'ENOSPC', 'reservation', 2])
  for (const [syscall, code, step, steps] of sizeChanges) {
    test(`create over an existing file refused at each ${step} in turn (${syscall} ${code}): the file is as it was, or empty and the error says so; nothing held`, async () => {
      const variants: Array<[string, number, number]> = [
        ['grown', 1000, 3 * PAGE],
        ['shrunk', 3 * PAGE + 10, 100]
      ]
      const paths = variants.map(() => tmpFile())
      const runs: CreateRun[][] = await child(
        `
const variants = ${JSON.stringify(variants)}
const out = []
for (const [i, [, oldSize, newSize]] of variants.entries()) {
  const p = args[i]
  const old = pattern(oldSize)
  const runs = []
  for (let n = 1; n <= 10; n++) {
    fs.writeFileSync(p, old)
    let v = null
    arm('${syscall}=' + n + ':${code}')
    const error = failure(() => { v = m.create(p, newSize) })
    arm('')
    if (error === null) { m.close(v); runs.push({ n, created: true }); break }
    const now = fs.readFileSync(p)
    runs.push({ n, error, state: same(now, old) ? 'as it was' : now.length === 0 ? 'empty' : now.length + ' bytes, not the old ones', held: heldOf(p) })
  }
  out.push(runs)
}
report(out)
`,
        { args: paths },
        `create refused at its ${step}s`
      )
      variants.forEach(([label, oldSize, newSize], i) => {
        const what = `create(<existing file of ${oldSize} bytes>, ${newSize}) (${label})`
        const done = runs[i]
        assert.ok(done[done.length - 1].created, `${what}: still failing at the 10th ${syscall}`)
        const failed = done.slice(0, -1)
        // grown: growth, emptying, sizing (ftruncate) or reserving before and after emptying (fallocate)
        const expected = label === 'grown' ? steps : 2
        assert.ok(
          failed.length >= expected,
          `${what}: only ${failed.length} ${syscall} calls failed in turn, expected ${expected} (${JSON.stringify(done)})`
        )
        for (const run of failed) {
          const at = `${what}, ${syscall} #${run.n} failing`
          checkFault(run.error as Reported, 'create', code, syscall, paths[i], at)
          const says = /emptied/.test((run.error as Reported).message)
          if (run.state === 'as it was')
            assert.not.ok(says, `${at}: the file is whole, but the error says it was emptied`)
          else if (run.state === 'empty')
            assert.ok(
              says,
              `${at}: the file was emptied, and the error does not say so: ${(run.error as Reported).message}`
            )
          else assert.unreachable(`${at}: the file is neither as it was nor empty: ${String(run.state)}`)
          assert.equal(run.held, [], `${at}: descriptors or mappings of the file left`)
        }
      })
    })
  }

  test(`create of a new file refused at its size${native ? ' or its reservation' : ''}: the file is removed, nothing held`, async () => {
    const faults = [['ftruncate', 'EFBIG'], ...(native ? [['fallocate', 'ENOSPC']] : [])]
    const paths = faults.map(() => tmpFile())
    const out: Array<{ error: Reported; exists: boolean; held: string[]; again: number }> = await child(
      `
const faults = ${JSON.stringify(faults)}
report(faults.map(([syscall, code], i) => {
  const p = args[i]
  arm(syscall + '=1:' + code)
  const error = failure(() => m.create(p, 3 * m.PAGE_SIZE))
  arm('')
  const result = { error, exists: fs.existsSync(p), held: heldOf(p) }
  const v = m.create(p, 5) // the path is free again
  m.close(v)
  return { ...result, again: fs.statSync(p).size }
}))
`,
      { args: paths },
      'create of a new file refused'
    )
    faults.forEach(([syscall, code], i) => {
      const what = `create(<new file>, 3 pages), ${syscall} failing`
      checkFault(out[i].error, 'create', code, syscall, paths[i], what)
      assert.not.ok(out[i].exists, `${what}: the file it made is still there`)
      assert.equal(out[i].held, [], `${what}: descriptors or mappings of the file left`)
      assert.is(out[i].again, 5, `${what}: a create of the same path afterwards`)
    })
  })
}
