// resize that fails: the old view open and unchanged, the file as it was; open 'rw' refused
// its reservation.
// kit.ts says how faults are injected.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import type { Ctx } from '../ctx'
import { fileBytes, pattern, sameBytes, tmpFile } from '../../helpers'
import { SIZE, checkFault } from './kit'
import type { FaultKit } from './kit'

interface ResizeCase {
  label: string
  fault: string
  /** the window's length (null: the whole file), from offset 0 */
  window: number | null
  length: number
  /** the view changed its last byte before the resize (wasm writes that chunk back first) */
  dirtyEnd?: boolean
}
/** The child's resize cases: reports what the old (or the new) view and the file hold. */
const resizeChild = (cases: ResizeCase[]): string => `
const cases = ${JSON.stringify(cases)}
const old = pattern(${SIZE})
report(cases.map(({ fault, window, length, dirtyEnd }, i) => {
  const p = args[i]
  fs.writeFileSync(p, old)
  const v = m.open(p, Uint8Array, 'rw', window === null ? {} : { length: window })
  const before = v.length
  const expected = old.slice(0, before)
  if (dirtyEnd) v[before - 1] = expected[before - 1] ^= 0xff
  let w = null
  arm(fault)
  const error = failure(() => { w = m.resize(v, length) })
  arm('')
  if (w !== null) { // it worked after all: the new view and the file must be right
    const resized = [w.length, same(w.subarray(0, before), expected), w.subarray(before).every((b) => b === 0)]
    const closed = failure(() => m.close(w))
    const file = fs.readFileSync(p)
    return { resized, closed, file: [file.length, same(file.subarray(0, before), expected), file.subarray(before).every((b) => b === 0)], held: heldOf(p) }
  }
  const result = { error, length: v.length, same: same(v, expected), info: infoOf(v), file: same(fs.readFileSync(p), old) }
  v[0] = 99
  const closed = failure(() => m.close(v))
  return { ...result, closed, first: fs.readFileSync(p)[0], held: heldOf(p) }
}))
`

/** resize refused at its size change or mapping. */
export function refusedResizes(s: Test, ctx: Ctx, kit: FaultKit): void {
  const { native, test, child } = kit
  const resizeFaults: Array<ResizeCase & { code: string; syscall: string }> = [
    { label: 'grow', fault: 'ftruncate=1:EFBIG', code: 'EFBIG', syscall: 'ftruncate', window: null, length: 2 * SIZE },
    { label: 'shrink', fault: 'ftruncate=1:EIO', code: 'EIO', syscall: 'ftruncate', window: null, length: SIZE / 2 },
    {
      label: 'grow a window that ends before the end of the file past that end',
      fault: 'ftruncate=1:EFBIG',
      code: 'EFBIG',
      syscall: 'ftruncate',
      window: SIZE / 2,
      length: 2 * SIZE
    }
  ]
  if (native) {
    resizeFaults.push({
      label: 'grow',
      fault: 'fallocate=1:ENOSPC',
      code: 'ENOSPC',
      syscall: 'fallocate',
      window: null,
      length: 2 * SIZE
    })
    resizeFaults.push({
      label: 'grow',
      fault: 'mmap=1:ENOMEM',
      code: 'ENOMEM',
      syscall: 'mmap',
      window: null,
      length: 2 * SIZE
    })
  } else {
    resizeFaults.push({
      label: 'grow after a change in the chunk at the end, written back first',
      fault: 'pwrite=1:EIO',
      code: 'EIO',
      syscall: 'write',
      window: SIZE - 100,
      length: 2 * SIZE,
      dirtyEnd: true
    })
  }
  test(`resize refused (${resizeFaults.map(({ label, fault }) => `${label}: ${fault}`).join('; ')}): the old view stays open and unchanged, the file as it was`, async () => {
    const paths = resizeFaults.map(() => tmpFile())
    const out: any[] = await child(resizeChild(resizeFaults), { args: paths }, 'resize refused')
    resizeFaults.forEach(({ label, fault, code, syscall, window }, i) => {
      const what = `resize (${label}) with ${fault}`
      const r = out[i]
      const length = window ?? SIZE
      checkFault(r.error, 'resize', code, syscall, paths[i], what)
      assert.equal([r.length, r.same], [length, true], `${what}: the old view (length, bytes unchanged)`)
      assert.is(r.info, length, `${what}: info(old view).byteLength`)
      assert.ok(r.file, `${what}: the file is not as it was`)
      assert.is(r.closed, null, `${what}: close of the old view`)
      assert.is(r.first, 99, `${what}: a write to the old view after the failure reached the file`)
      assert.equal(r.held, [], `${what}: descriptors or mappings of the file left`)
    })
  })
}

/** resize of a window past the end of the file, its zeroing in place refused. */
export function zeroingRefused(s: Test, ctx: Ctx, kit: FaultKit): void {
  const { native, test, child } = kit

  // Growing a window that ends before the end of the file past that end: the file grows (ftruncate,
  // then native reserves the growth: 1st fallocate), then the bytes past the old window end are
  // zeroed in place: native punches a hole there (2nd fallocate), wasm writes the zeros (pwrite).
  // Native: refused, the growth is undone and the old view stays whole; wasm: the zeros not written
  // are written at the next write-back, so the resize works.
  const zeroFaults: Array<[string, string]> = native ? [['fallocate=2:EIO', 'fallocate']] : [['pwrite=1:EIO', 'write']]
  test(`resize growing a window that ends before the end of the file past that end, its zeroing in place refused (${zeroFaults.map(([f]) => f).join(', ')}): fails as above, or works with zeros past the old end`, async () => {
    const paths = zeroFaults.map(() => tmpFile())
    const out: any[] = await child(
      resizeChild(zeroFaults.map(([fault]) => ({ label: 'zero', fault, window: SIZE / 2, length: 2 * SIZE }))),
      { args: paths },
      'resize with its zeroing refused'
    )
    zeroFaults.forEach(([fault, syscall], i) => {
      const what = `resize(<window of the first half>, twice the file) with ${fault}`
      const r = out[i]
      if (r.resized === undefined) {
        checkFault(r.error, 'resize', 'EIO', syscall, paths[i], what)
        assert.equal(
          [r.length, r.same, r.info, r.file, r.closed, r.first],
          [SIZE / 2, true, SIZE / 2, true, null, 99],
          `${what}: the old view (length, bytes, info().byteLength), the file as it was, close, a later write`
        )
      } else {
        assert.equal(
          r.resized,
          [2 * SIZE, true, true],
          `${what}: the new view (length, bytes kept, zeros past the old end)`
        )
        assert.is(r.closed, null, `${what}: close of the new view`)
        assert.equal(
          r.file,
          [2 * SIZE, true, true],
          `${what}: the file after close (size, bytes kept, zeros past the old end)`
        )
      }
      assert.equal(r.held, [], `${what}: descriptors or mappings of the file left`)
    })
  })
}

/** open 'rw' refused its reservation (native). */
export function reservationRefused(s: Test, ctx: Ctx, kit: FaultKit): void {
  const { native, test, child } = kit

  if (native) {
    test("open 'rw' refused its reservation (fallocate ENOSPC): the error, nothing held, the file as it was; { sparse: true } reserves nothing", async () => {
      const p = tmpFile()
      const old = pattern(5000)
      fs.writeFileSync(p, old)
      const r = await child(
        `
arm('fallocate=1:ENOSPC')
const error = failure(() => m.open(args[0], Uint8Array, 'rw'))
const held = heldOf(args[0])
arm('fallocate=1:ENOSPC')
let sparse = null
const sparseError = failure(() => { sparse = m.open(args[0], Uint8Array, 'rw', { sparse: true }) })
arm('')
const sparseLength = sparse?.length ?? null
if (sparse !== null) m.close(sparse)
report({ error, held, sparseError, sparseLength })
`,
        { args: [p] },
        "open 'rw' refused its reservation"
      )
      checkFault(r.error, 'open', 'ENOSPC', 'fallocate', p, "open(p, Uint8Array, 'rw') with fallocate=1:ENOSPC")
      assert.equal(r.held, [], 'descriptors or mappings of the file left')
      assert.equal(
        [r.sparseError, r.sparseLength],
        [null, 5000],
        "open(p, Uint8Array, 'rw', { sparse: true }) with the same fault armed, then closed"
      )
      sameBytes(fileBytes(p), old, 'the file')
    })
  }
}
