// open(path, type?, mode?, options?): modes, element types, windows at any offset, errors. The tests
// are in open/: the errors first (errors.ts), then views of a file (views.ts) and views that share one
// (sharing.ts).
import { suite } from 'uvu'
import type { Ctx } from './ctx'
import { pathErrors, argumentErrors } from './open/errors'
import { wholeAndWindows, emptyViewsAndPaths } from './open/views'
import { readOnlyViews, sharedViews } from './open/sharing'

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} open`)
  pathErrors(s, ctx)
  argumentErrors(s, ctx)
  wholeAndWindows(s, ctx)
  emptyViewsAndPaths(s, ctx)
  readOnlyViews(s, ctx)
  sharedViews(s, ctx)
  s.run()
}
