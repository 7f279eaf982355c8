// What the struct tests (test/conformance/struct.ts, struct/*.ts) share: the compiled C program they
// check against, and the mmapfile types and field paths made from the descriptions of test/cstruct.ts.
import { DESCS, compileC } from '../../cstruct'
import type { CProgram, Desc, Field, Leaf } from '../../cstruct'

/** How many records of each struct the C program writes and reads. */
export const RECORDS = 3

let cprog: CProgram | undefined
/** The C program of Deep, Mixed and Seed, compiled into `dir` once for all the struct tests. */
export function structProgram(dir: string): CProgram {
  if (cprog === undefined) cprog = compileC(dir, ['Deep', 'Mixed', 'Seed'], RECORDS)
  return cprog
}

/** Builds every struct of DESCS with `api.struct`. */
export function buildTypes(api: any): Record<string, any> {
  const types: Record<string, any> = {}
  const spec = (f: Field): any => {
    if (Array.isArray(f)) return [spec(f[0]), f[1]]
    return typeof f === 'string' ? f : types[f.ref]
  }
  for (const d of DESCS) {
    const fields: Record<string, any> = {}
    for (const [name, f] of d.fields) fields[name] = spec(f)
    types[d.name] = api.struct(fields)
  }
  return types
}

// Element i of an array field: `field[i]` for a typed array, `field.at(i)` for a StructArray (API.md:
// made in constant time, so it has no `[i]`).
export function step(o: any, k: string | number): any {
  if (typeof k === 'number' && o[k] === undefined && typeof o.at === 'function') return o.at(k)
  return o[k]
}

export function getLeaf(rec: any, leaf: Leaf): unknown {
  let o = rec
  for (const k of leaf.js) o = step(o, k)
  return o
}

export function setLeaf(rec: any, leaf: Leaf, v: unknown): void {
  let o = rec
  for (const k of leaf.js.slice(0, -1)) o = step(o, k)
  o[leaf.js[leaf.js.length - 1]] = v
}

export const leafName = (d: Desc, l: Leaf): string => `${d.name}.${l.c}`
