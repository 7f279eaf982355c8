// open(fd | FileHandle, type?, mode?, options?) and gcopen of the same: the view does not own the
// descriptor (closing either leaves the other whole), the descriptor's access decides the mode, and a
// file that later takes the descriptor's number never receives the view's write-back.
// The tests are in fd/: errors.ts, then views.ts.
import { suite } from 'uvu'
import type { Ctx } from './ctx'
import { argumentErrors, fileErrors } from './fd/errors'
import { viewsAndOwnership, viewsAndFiles, viewsInChildrenAndLeftovers } from './fd/views'

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} open(fd)`)
  argumentErrors(s, ctx)
  fileErrors(s, ctx)
  viewsAndOwnership(s, ctx)
  viewsAndFiles(s, ctx)
  viewsInChildrenAndLeftovers(s, ctx)
  s.run()
}
