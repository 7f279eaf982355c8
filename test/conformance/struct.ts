// struct(): C layout (checked against gcc), field values, records, StructArray. The tests are in
// struct/: the errors of a type and its fields (types.ts), records and their layout (records.ts),
// StructArray and files shared with a C program (array.ts); program.ts is what they share.
import { suite } from 'uvu'
import type { Ctx } from './ctx'
import { definitionErrors, unknownNameAssignments, wholeFieldAssignments } from './struct/types'
import { seedAndLayout, scalarArrayFields, structArrayFields } from './struct/records'
import { structArrays, cFilesAndCsp } from './struct/array'

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} struct`)
  definitionErrors(s, ctx)
  unknownNameAssignments(s, ctx)
  wholeFieldAssignments(s, ctx)
  seedAndLayout(s, ctx)
  scalarArrayFields(s, ctx)
  structArrayFields(s, ctx)
  structArrays(s, ctx)
  cFilesAndCsp(s, ctx)
  s.run()
}
