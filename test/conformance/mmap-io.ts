// mmapfile/mmap-io: mmap-io's own test suite (ozra/mmap-io src/test.ls, which @riaskov/mmap-io ships as
// dist/test.js), case by case, as real assertions where it only prints, run through createMmapIo over
// the backend under test; then what mmap-io crashes on, answered safely; then how its Buffers live with
// the rest of mmapfile. Cases that assume two mappings see each other at once sync between them where
// the backend is not coherent (wasm). Cases rewritten, and why, are marked "mmap-io:".
// The suites' tests are in mmap-io/: own-suite.ts, crashes.ts, buffers.ts; kit.ts is what they share.
import { suite } from 'uvu'
import type { Ctx } from './ctx'
import { mmapIoKit } from './mmap-io/kit'
import { ownSuiteReads, ownSuiteErrorsAndWrites } from './mmap-io/own-suite'
import { crashArguments, crashOffsets } from './mmap-io/crashes'
import { buffersInProcess, buffersInChildren } from './mmap-io/buffers'

export default function register(ctx: Ctx): void {
  const kit = mmapIoKit(ctx)

  // ---------------------------------------------------------------------------------------------
  const t = suite(`${ctx.label} mmap-io's test suite`)
  ownSuiteReads(t, ctx, kit)
  ownSuiteErrorsAndWrites(t, ctx, kit)
  t.run()

  // ---------------------------------------------------------------------------------------------
  const safe = suite(`${ctx.label} mmap-io: what it crashes on, answered`)
  crashArguments(safe, ctx, kit)
  crashOffsets(safe, ctx, kit)
  safe.run()

  // ---------------------------------------------------------------------------------------------
  const life = suite(`${ctx.label} mmap-io: Buffers and the rest of mmapfile`)
  buffersInProcess(life, ctx, kit)
  buffersInChildren(life, ctx, kit)
  life.run()
}
