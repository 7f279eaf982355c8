// A real file that refuses to change size: a memfd sealed with F_SEAL_SHRINK or F_SEAL_GROW.
// kit.ts says how faults are injected.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { entry } from '../ctx'
import type { Ctx } from '../ctx'
import { childPrelude, childReport, fileWith, pattern, requires, runChild } from '../../helpers'
import { FAULT_HELPERS, checkFault, sealedMemfd } from './kit'
import type { FaultKit } from './kit'

/** A memfd sealed against shrinking. */
export function sealedShrink(s: Test, ctx: Ctx, kit: FaultKit): void {
  const { PAGE } = kit
  // --- a real file that refuses to shrink: a memfd sealed with F_SEAL_SHRINK

  // the child maps the memfd by its /proc/self/fd path
  const memfdTest = requires(s, 'memfd', 'child-proc')
  memfdTest(
    'a memfd sealed against shrinking: resize of a window before its end fails (EPERM) and keeps the view; a whole-file view grows',
    async () => {
      // The window is one page and grows to half the file: the file must be cut at the new end, which
      // the seal refuses, and a wasm instance's memory must grow (which once detached the view).
      const r = await runChild(
        `${childPrelude(entry(ctx))}${FAULT_HELPERS}
const p = '/proc/self/fd/' + args[args.length - 1]
const PAGE = m.PAGE_SIZE
const SIZE = 256 * PAGE
const old = pattern(SIZE)
const out = {}
const v = m.open(p, Uint8Array, 'rw', { length: PAGE })
out.error = failure(() => m.resize(v, 128 * PAGE))
out.view = [v.length, same(v, old.subarray(0, PAGE)), infoOf(v)]
v[1] = 201
out.closed = failure(() => m.close(v))
const file = fs.readFileSync(p)
out.file = [file.length, file[1], same(file.subarray(2), old.subarray(2))]
// The whole file: growth is all the resize asks, and the seal allows it.
const w = m.open(p, Uint8Array, 'rw')
let grown = null
out.grow = failure(() => { grown = m.resize(w, SIZE + 2 * PAGE) })
if (grown !== null) {
  out.grown = [grown.length, grown[1], same(grown.subarray(2, SIZE), old.subarray(2)), grown.subarray(SIZE).every((b) => b === 0)]
  grown[SIZE + PAGE] = 7
  out.grownClosed = failure(() => m.close(grown))
}
const after = fs.readFileSync(p)
out.after = [after.length, after[SIZE + PAGE]]
report(out)
`,
        { launcher: sealedMemfd('F_SEAL_SHRINK', fileWith(pattern(256 * PAGE))) }
      )
      if (r.stderr.trim() !== '') assert.unreachable(`the child wrote on stderr:\n${r.stderr}`)
      const out = childReport(r, 'sealed memfd')
      const SIZE = 256 * PAGE
      const pathOf = out.error?.path as string
      assert.match(String(pathOf), /^\/proc\/self\/fd\/\d+$/, 'the error names the path')
      checkFault(
        out.error,
        'resize',
        'EPERM',
        'ftruncate',
        pathOf,
        "resize(<'rw' window of the first page>, 128 pages)"
      )
      assert.equal(
        out.view,
        [PAGE, true, PAGE],
        'the view after the refused resize (length, bytes unchanged, info().byteLength)'
      )
      assert.is(out.closed, null, 'close of the view after the refused resize')
      assert.equal(out.file, [SIZE, 201, true], 'the memfd (size, the byte written after the failure, the rest)')
      assert.is(out.grow, null, 'resize of a whole-file view by 2 pages')
      assert.equal(out.grown, [SIZE + 2 * PAGE, 201, true, true], 'the grown view (length, bytes kept, growth zero)')
      assert.is(out.grownClosed, null, 'close of the grown view')
      assert.equal(
        out.after,
        [SIZE + 2 * PAGE, 7],
        'the memfd after the grown view was closed (size, a byte written in the growth)'
      )
    }
  )
}

/** A memfd sealed against growth. */
export function sealedGrowth(s: Test, ctx: Ctx, kit: FaultKit): void {
  const { PAGE } = kit
  const memfdTest = requires(s, 'memfd', 'child-proc')

  // Growing a window that ends before the end of the file, to a length still inside it: the bytes
  // past the old window end must read as zeros. Cutting the file there and growing it back (as
  // 1e821f3 did) needs the file to grow, and a file that may not grow lost its bytes to the cut.
  // Nothing here needs more than the size change itself: the file is cut at the new end, and the
  // bytes are zeroed in place (native: a punched hole; wasm: written).
  memfdTest(
    'a memfd sealed against growth: growing a window before its end to a length inside the file works, or fails leaving the file as it was',
    async () => {
      const r = await runChild(
        `${childPrelude(entry(ctx))}${FAULT_HELPERS}
const p = '/proc/self/fd/' + args[args.length - 1]
const PAGE = m.PAGE_SIZE
const old = pattern(256 * PAGE)
const v = m.open(p, Uint8Array, 'rw', { length: PAGE })
let w = null
const error = failure(() => { w = m.resize(v, 128 * PAGE) })
if (w === null) {
  const view = [v.length, same(v, old.subarray(0, PAGE))]
  const closed = failure(() => m.close(v))
  const file = fs.readFileSync(p)
  report({ error, view, closed, file: [file.length, same(file, old)] })
} else {
  const resized = [w.length, same(w.subarray(0, PAGE), old.subarray(0, PAGE)), w.subarray(PAGE).every((b) => b === 0)]
  const closed = failure(() => m.close(w))
  const file = fs.readFileSync(p)
  report({ resized, closed, file: [file.length, same(file.subarray(0, PAGE), old.subarray(0, PAGE)), file.subarray(PAGE).every((b) => b === 0)] })
}
`,
        { launcher: sealedMemfd('F_SEAL_GROW', fileWith(pattern(256 * PAGE))) }
      )
      const out = childReport(r, 'memfd sealed against growth')
      const what = "resize(<'rw' window of the first page>, 128 pages) of a memfd of 256 pages sealed against growth"
      if (out.resized === undefined) {
        assert.equal(
          out.view,
          [PAGE, true],
          `${what}: failed (${JSON.stringify(out.error)}); the old view (length, bytes)`
        )
        assert.is(out.closed, null, `${what}: failed; close of the old view`)
        assert.equal(
          out.file,
          [256 * PAGE, true],
          `${what}: failed (${JSON.stringify(out.error)}); the file (size, bytes as they were)`
        )
      } else {
        assert.equal(
          out.resized,
          [128 * PAGE, true, true],
          `${what}: the new view (length, bytes kept, zeros past the old end)`
        )
        assert.is(out.closed, null, `${what}: close of the new view`)
        assert.equal(
          out.file,
          [128 * PAGE, true, true],
          `${what}: the file after close (size, bytes kept, zeros past the old end)`
        )
      }
      if (r.stderr.trim() !== '') assert.unreachable(`the child wrote on stderr:\n${r.stderr}`)
    }
  )
}
