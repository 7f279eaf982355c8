// A write-back that fails (msync, fsync, pwrite) keeps the view, and a retry writes it.
// kit.ts says how faults are injected.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Ctx } from '../ctx'
import { tmpFile } from '../../helpers'
import { checkFault } from './kit'
import type { FaultKit } from './kit'

/** sync, syncAsync and close refused their write-back, alone and with another view of the chunks. */
export function writeBackFaults(s: Test, ctx: Ctx, kit: FaultKit): void {
  const { native, test, child } = kit
  // --- a write-back that fails keeps the view, and a retry writes it

  const writeBackFaults: Array<[string, string, string]> = native
    ? [['msync=1:EIO', 'EIO', 'msync']]
    : [
        ['pwrite=1:EIO', 'EIO', 'write'],
        ['pwrite=1:ENOSPC', 'ENOSPC', 'write'],
        ['pwrite=2:EIO', 'EIO', 'write'],
        ['fsync=1:EIO', 'EIO', 'fsync']
      ]
  for (const [fault, code, syscall] of writeBackFaults) {
    test(`a write-back refused (${fault}) by close, sync or syncAsync: the view stays open with its bytes, info() works, a retry writes them`, async () => {
      const ops = ['close', 'sync', 'syncAsync']
      const paths = ops.map(() => tmpFile())
      // Two changes three 64 KiB chunks apart: on wasm, two writes.
      const SIZE = 4 * 65536
      const [A, B, C] = [1, 3 * 65536 + 5, 2]
      const out: any[] = await child(
        `
const ops = ${JSON.stringify(ops)}
const [A, B, C] = [${A}, ${B}, ${C}]
const out = []
for (const [i, op] of ops.entries()) {
  const p = args[i]
  fs.writeFileSync(p, new Uint8Array(${SIZE}))
  const v = m.open(p, Uint8Array, 'rw')
  v[A] = 11; v[B] = 22
  const call = () => op === 'syncAsync' ? failureAsync(m.syncAsync(v)) : failure(() => m[op](v))
  arm('${fault}')
  const error = await call()
  arm('')
  const after = { error, length: v.length, a: v[A], b: v[B], info: infoOf(v), mapped: maps(p).length }
  v[C] = 33 // written after the failure: the retry writes it too
  const retry = await call()
  const closed = failure(() => m.close(v))
  const file = fs.readFileSync(p)
  out.push({ ...after, retry, closed, lengthAfter: v.length, file: [file.length, file[A], file[B], file[C]], held: heldOf(p) })
}
report(out)
`,
        { args: paths },
        `write-back refused (${fault})`
      )
      ops.forEach((op, i) => {
        const what = `${op}(<'rw' view>) with ${fault}`
        const r = out[i]
        checkFault(r.error, op, code, syscall, paths[i], what)
        assert.equal([r.length, r.a, r.b], [SIZE, 11, 22], `${what}: the view after the failure (length, bytes)`)
        assert.is(r.info, SIZE, `${what}: info(view).byteLength after the failure`)
        if (native) assert.ok(r.mapped > 0, `${what}: the file is no longer mapped after the failure`)
        assert.is(r.retry, null, `${what}: the retry, the fault gone, failed: ${JSON.stringify(r.retry)}`)
        assert.is(r.closed, null, `${what}: the close after the retry failed: ${JSON.stringify(r.closed)}`)
        assert.is(r.lengthAfter, 0, `${what}: the view after close`)
        assert.equal(r.file, [SIZE, 11, 22, 33], `${what}: the file (size, bytes) after the retry`)
        assert.equal(r.held, [], `${what}: descriptors or mappings of the file left after close`)
      })
    })
  }

  test('an empty view whose fsync fails at close stays open (info() works); a retried close succeeds', async () => {
    const p = tmpFile()
    const r = await child(
      `
const v = m.create(args[0], 0)
arm('fsync=1:EIO')
const error = failure(() => m.close(v))
arm('')
report({ error, info: infoOf(v), retry: failure(() => m.close(v)), closedInfo: infoOf(v)?.code, held: heldOf(args[0]) })
`,
      { args: [p] },
      'fsync refused at close of an empty view'
    )
    checkFault(r.error, 'close', 'EIO', 'fsync', p, 'close(<empty view>) with fsync=1:EIO')
    assert.is(r.info, 0, 'info(view).byteLength after the failed close')
    assert.is(r.retry, null, 'the retried close')
    assert.is(r.closedInfo, 'ERR_MMAPFILE_CLOSED', 'info(view) after the retried close')
    assert.equal(r.held, [], 'descriptors of the file left after close')
  })

  test(`a write-back refused (${writeBackFaults.map(([fault]) => fault).join(', ')}) while another view shares its chunks: both views keep their bytes, a retried close writes them all`, async () => {
    const paths = writeBackFaults.map(() => tmpFile())
    const out: any[] = await child(
      `
const faults = ${JSON.stringify(writeBackFaults.map(([fault]) => fault))}
report(faults.map((fault, i) => {
  const p = args[i]
  fs.writeFileSync(p, new Uint8Array(200000))
  // B is a window of A's first chunks: A and B change different bytes of one chunk
  const A = m.open(p, Uint8Array, 'rw')
  const B = m.open(p, Uint8Array, 'rw', { offset: 4096, length: 100000 })
  A[10] = 1; A[5000] = 2; B[20] = 3; A[150000] = 4
  arm(fault)
  const error = failure(() => m.close(A))
  arm('')
  const views = [A.length, A[10], A[5000], A[150000], B.length, B[20]]
  const retry = failure(() => m.close(A))
  const closed = failure(() => m.close(B))
  const file = fs.readFileSync(p)
  return { error, views, retry, closed, file: [file[10], file[5000], file[4116], file[150000]], held: heldOf(p) }
}))
`,
      { args: paths },
      'write-back refused with a shared chunk'
    )
    writeBackFaults.forEach(([fault, code, syscall], i) => {
      const what = `close(A) with ${fault}, B a window over A's chunks`
      const r = out[i]
      checkFault(r.error, 'close', code, syscall, paths[i], what)
      assert.equal(
        r.views,
        [200000, 1, 2, 4, 100000, 3],
        `${what}: the views after the failure (A's length and bytes, B's)`
      )
      assert.equal([r.retry, r.closed], [null, null], `${what}: the retried close of A, the close of B`)
      assert.equal(r.file, [1, 2, 3, 4], `${what}: the file holds every view's bytes`)
      assert.equal(r.held, [], `${what}: descriptors or mappings of the file left`)
    })
  })
}
