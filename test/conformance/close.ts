// close(view): write-back, unmapping, emptied views, ERR_MMAPFILE_CLOSED, no leaks, no crashes. The
// tests are in close/: errors and write-back (views.ts), disposal (dispose.ts), leaks and crashes
// (leaks.ts); makers.ts makes every kind of view.
import { suite } from 'uvu'
import type { Ctx } from './ctx'
import { closeErrors, writeBackAndEmptying } from './close/views'
import { disposal } from './close/dispose'
import { noLeaks, noCrashes } from './close/leaks'

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} close`)
  closeErrors(s, ctx)
  writeBackAndEmptying(s, ctx)
  disposal(s, ctx)
  noLeaks(s, ctx)
  noCrashes(s, ctx)
  s.run()
}
