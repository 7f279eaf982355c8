// Shrinks a failing sequence: drops calls (runs of them, then single ones), then makes the numbers
// simpler (0, a multiple of the page or chunk, half), keeping every change after which the sequence
// still fails the same way. Ops name views by id, so dropping the call that made a view makes the
// calls on it skip: they go next.

import { CHUNK } from './types'
import type { Op } from './types'

export interface ShrinkBudget {
  /** Date.now() after which shrinking stops with what it has */
  deadline: number
  page: number
}

type Fails = (ops: Op[]) => Promise<boolean>

const NUMBERS = ['size', 'pos', 'len', 'count', 'offset', 'length', 'index', 'start', 'end'] as const
const OPTIONAL = ['offset', 'length', 'data'] as const

/** Smaller, rounder values for x: 0, x rounded down to a chunk and a page, half (not x - 1: too slow). */
function smaller(x: number, page: number): number[] {
  if (x <= 0) return []
  const out = [0, Math.floor(x / CHUNK) * CHUNK, Math.floor(x / page) * page, Math.floor(x / 2)]
  return [...new Set(out)].filter((y) => y < x && y >= 0)
}

/** Simpler variants of one op, simplest first. */
function variants(op: Op, page: number): Op[] {
  const out: Op[] = []
  const record = op as unknown as Record<string, unknown>
  for (const key of OPTIONAL) {
    if (record[key] !== undefined) {
      const copy = { ...record }
      delete copy[key]
      out.push(copy as unknown as Op)
    }
  }
  for (const key of NUMBERS) {
    const x = record[key]
    if (typeof x === 'number') for (const y of smaller(x, page)) out.push({ ...record, [key]: y } as unknown as Op)
  }
  if (op.k === 'create' && op.data !== undefined) {
    for (const y of smaller(op.data.len, page)) out.push({ ...op, data: { ...op.data, len: y } })
  }
  if (typeof record.value === 'string') {
    const big = record.value.endsWith('n')
    // Simplest first, and only toward simpler: 0, then 1, then anything else.
    const simple = big ? ['0n', '1n'] : ['0', '1']
    const rank = simple.includes(record.value) ? simple.indexOf(record.value) : simple.length
    for (const v of simple.slice(0, rank)) out.push({ ...record, value: v } as unknown as Op)
  }
  if ((op.k === 'open' || op.k === 'create') && op.type !== 'Uint8Array') out.push({ ...op, type: 'Uint8Array' })
  if (op.k === 'open' && op.mode === 'rw') out.push({ ...op, mode: 'r' })
  if (op.k === 'fill') out.push({ k: 'set', v: op.v, index: op.start, value: op.value })
  if (op.k === 'syncAsync') out.push({ k: 'sync', v: op.v, offset: op.offset, length: op.length })
  return out
}

/** Views, records and promises renumbered 1, 2, ... in the order they are made, for reading. */
export function renumber(ops: readonly Op[]): Op[] {
  const ids = new Map<string, number>()
  const next = { v: 0, r: 0, p: 0 }
  const name = (space: 'v' | 'r' | 'p', id: number): number => {
    const key = `${space}${id}`
    let n = ids.get(key)
    if (n === undefined) ids.set(key, (n = ++next[space]))
    return n
  }
  return ops.map((op) => {
    const copy = { ...op } as Record<string, unknown>
    if (typeof copy.v === 'number') copy.v = name('v', copy.v)
    if (typeof copy.id === 'number') copy.id = name('v', copy.id)
    if (typeof copy.r === 'number') copy.r = name('r', copy.r)
    if (typeof copy.p === 'number') copy.p = name('p', copy.p)
    return copy as unknown as Op
  })
}

export async function shrink(
  start: readonly Op[],
  fails: Fails,
  budget: ShrinkBudget
): Promise<{ ops: Op[]; runs: number }> {
  let ops = [...start]
  let runs = 0
  const timeLeft = (): boolean => Date.now() < budget.deadline
  const tryOps = async (candidate: Op[]): Promise<boolean> => {
    runs++
    if (!(await fails(candidate))) return false
    ops = candidate
    return true
  }

  let changed = true
  while (changed && timeLeft()) {
    changed = false
    // Runs of calls, from half the sequence down to one call, later calls first.
    for (let size = Math.max(1, Math.floor(ops.length / 2)); size >= 1 && timeLeft(); size = Math.floor(size / 2)) {
      for (let at = ops.length - size; at >= 0 && timeLeft(); at--) {
        if (at + size > ops.length) continue
        if (await tryOps([...ops.slice(0, at), ...ops.slice(at + size)])) changed = true
      }
    }
    // A resize dropped, the calls on the view it made pointed at the view it resized.
    for (let i = ops.length - 1; i >= 0 && timeLeft(); i--) {
      const op = ops[i] as Op
      if (op.k !== 'resize') continue
      const later = ops.slice(i + 1).map((o) => ('v' in o && o.v === op.id ? { ...o, v: op.v } : o))
      if (await tryOps([...ops.slice(0, i), ...later])) changed = true
    }
    // File 1 as file 0, when only file 1 is left.
    if (ops.every((op) => !('f' in op) || op.f === 1) && ops.some((op) => 'f' in op)) {
      if (await tryOps(ops.map((op) => ('f' in op ? { ...op, f: 0 } : op)))) changed = true
    }
    for (let i = 0; i < ops.length && timeLeft(); i++) {
      let simpler = true
      while (simpler && timeLeft()) {
        simpler = false
        for (const variant of variants(ops[i] as Op, budget.page)) {
          if (await tryOps([...ops.slice(0, i), variant, ...ops.slice(i + 1)])) {
            simpler = changed = true
            break
          }
        }
      }
    }
  }
  return { ops, runs }
}
