// The faults area: real system calls that fail, in child processes (faults/kit.ts says how). Its
// tests are in faults/, one file per topic, all on this one suite: create (faults/create.ts), a
// write-back (faults/write-back.ts), resize (faults/resize.ts), running out of descriptors or memory
// (faults/exhaustion.ts), and a real sealed memfd (faults/memfd.ts).
import { suite } from 'uvu'
import type { Ctx } from './ctx'
import { faultKit } from './faults/kit'
import { createFaults } from './faults/create'
import { writeBackFaults } from './faults/write-back'
import { refusedResizes, zeroingRefused, reservationRefused } from './faults/resize'
import { exhaustionFaults } from './faults/exhaustion'
import { sealedShrink, sealedGrowth } from './faults/memfd'

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} faults`)
  const kit = faultKit(ctx, s)
  createFaults(s, ctx, kit)
  writeBackFaults(s, ctx, kit)
  refusedResizes(s, ctx, kit)
  zeroingRefused(s, ctx, kit)
  reservationRefused(s, ctx, kit)
  exhaustionFaults(s, ctx, kit)
  sealedShrink(s, ctx, kit)
  sealedGrowth(s, ctx, kit)
  s.run()
}
