// Running out of descriptors or memory: open, create and malloc refused with a Node-style error.
// kit.ts says how faults are injected.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import type { Ctx } from '../ctx'
import { fileBytes, pattern, sameBytes, tmpFile } from '../../helpers'
import { SIZE, checkFault } from './kit'
import type { FaultKit } from './kit'

/** open EMFILE and mmap ENOMEM: the error, no file made, nothing held. */
export function exhaustionFaults(s: Test, ctx: Ctx, kit: FaultKit): void {
  const { native, why, test, child } = kit
  // --- running out of descriptors or memory

  test('open and create refused for want of descriptors (open EMFILE): a Node-style error, no file made, nothing held', async () => {
    const cases: Array<[string, string, string, boolean]> = [
      // call, fault, function, the file exists before
      ["open(p, Uint8Array, 'r')", 'open=1:EMFILE', 'open', true],
      ["open(p, Uint8Array, 'rw')", 'open=1:EMFILE', 'open', true],
      ["gcopen(p, Uint8Array, 'rw')", 'open=1:EMFILE', 'gcopen', true],
      ['create(p, 4096)', 'open=1:EMFILE', 'create', false],
      // the first open, exclusive, finds the file; the second opens it
      ['create(p, 4096)', 'open=2:EMFILE', 'create', true]
    ]
    const paths = cases.map(() => tmpFile())
    for (const [i, c] of cases.entries()) if (c[3]) fs.writeFileSync(paths[i], pattern(5000))
    const out: any[] = await child(
      `
const cases = ${JSON.stringify(cases)}
const calls = [${cases.map(([call]) => `(p) => m.${call}`).join(', ')}]
report(cases.map(([, fault], i) => {
  const p = args[i]
  arm(fault)
  const error = failure(() => calls[i](p))
  arm('')
  return { error, exists: fs.existsSync(p), held: heldOf(p) }
}))
`,
      { args: paths },
      'EMFILE'
    )
    cases.forEach(([call, fault, fn, existed], i) => {
      const what = `${call} with ${fault}`
      checkFault(out[i].error, fn, 'EMFILE', 'open', paths[i], what)
      assert.is(out[i].exists, existed, `${what}: the file exists afterwards`)
      if (existed) sameBytes(fileBytes(paths[i]), pattern(5000), `${what}: the existing file`)
      assert.equal(out[i].held, [], `${what}: descriptors or mappings of the file left`)
    })
  })

  test(
    'open, create and malloc refused for want of memory (mmap ENOMEM): a Node-style error, no file made, nothing held',
    async () => {
      // wasm: V8 retries a refused reservation after collecting garbage, so every try must fail. No
      // call here makes an instance, so none is taken from the backend's pool without a new mapping.
      const fault = native ? 'mmap=1:ENOMEM' : 'mmap=1+:ENOMEM'
      const cases: Array<[string, string, boolean]> = [
        ["open(p, Uint8Array, 'r')", 'open', true],
        ["open(p, Uint8Array, 'rw')", 'open', true],
        [`create(p, ${SIZE})`, 'create', false],
        [`create(p, ${2 * SIZE})`, 'create', true],
        [`malloc(${SIZE})`, 'malloc', false]
      ]
      const paths = cases.map(() => tmpFile())
      for (const [i, c] of cases.entries()) if (c[2]) fs.writeFileSync(paths[i], pattern(SIZE))
      const out: any[] = await child(
        `
const cases = ${JSON.stringify(cases)}
const calls = [${cases.map(([call]) => `(p) => m.${call}`).join(', ')}]
report(cases.map((_, i) => {
  const p = args[i]
  arm('${fault}')
  const error = failure(() => calls[i](p))
  arm('')
  return { error, exists: fs.existsSync(p), held: heldOf(p) }
}))
`,
        { args: paths },
        'ENOMEM'
      )
      cases.forEach(([call, fn, existed], i) => {
        const what = `${call} with ${fault}`
        checkFault(out[i].error, fn, 'ENOMEM', 'mmap', fn === 'malloc' ? undefined : paths[i], what)
        assert.is(out[i].exists, existed, `${what}: the file exists afterwards`)
        if (existed) sameBytes(fileBytes(paths[i]), pattern(SIZE), `${what}: the existing file`)
        assert.equal(out[i].held, [], `${what}: descriptors or mappings of the file left`)
      })
    },
    why.mmap
  )
}
