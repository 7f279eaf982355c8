// Sequences in readable form: one line of JavaScript-like text per call, as a failure report prints
// them, with what the model says each call does.

import { Model } from './model'
import type { BackendName, Outcome } from './model'
import type { Known } from './known'
import type { Op } from './types'

function options(o: { offset?: number; length?: number; durable?: false }): string {
  const parts: string[] = []
  if (o.offset !== undefined) parts.push(`offset: ${o.offset}`)
  if (o.length !== undefined) parts.push(`length: ${o.length}`)
  if (o.durable === false) parts.push('durable: false')
  return parts.length === 0 ? '' : `, { ${parts.join(', ')} }`
}

/** `bytes(n, seed s)`: n bytes of seededBytes(n, s) (types.ts). */
const bytes = (len: number, seed: number): string => `bytes(${len}, seed ${seed})`

export function describeOp(op: Op): string {
  switch (op.k) {
    case 'fsInit':
      return `fs.writeFileSync(f${op.f}, ${bytes(op.size, op.seed)})`
    case 'fsWrite':
      return `fs.writeSync(f${op.f}, ${bytes(op.len, op.seed)}, at ${op.pos})`
    case 'truncate':
      return `fs.truncateSync(f${op.f}, ${op.size})`
    case 'create':
      return `v${op.id} = create(f${op.f}, ${op.count}, ${op.type}${op.data === undefined ? '' : `, ${bytes(op.data.len, op.data.seed)}`})`
    case 'open':
      return `v${op.id} = open(${op.byFd === true ? `fd of f${op.f} (closed after)` : `f${op.f}`}, ${op.type}, '${op.mode}'${options(op)})`
    case 'set':
      return `v${op.v}[${op.index}] = ${op.value}`
    case 'fill':
      return `v${op.v}.fill(${op.value}, ${op.start}, ${op.end})`
    case 'field':
      return `v${op.v}.at(${op.index}).${op.path} = ${op.value}`
    case 'keep':
      return `r${op.r} = v${op.v}.at(${op.index})`
    case 'rfield':
      return `r${op.r}.${op.path} = ${op.value}`
    case 'sync':
      return `sync(v${op.v}${options(op)})`
    case 'syncAsync':
      return `p${op.p} = syncAsync(v${op.v}${options(op)})  (not awaited)`
    case 'resize':
      return `v${op.id} = resize(v${op.v}, ${op.count})`
    case 'advise':
      return `advise(v${op.v}, '${op.advice}')`
    case 'close':
      return `close(v${op.v})`
    case 'tick':
      return 'await tick()'
  }
}

function expectation(o: Outcome): string {
  if (o.kind === 'ok') return o.note === 'undefined' ? '  // at() gives undefined' : ''
  if (o.kind === 'skip') return `  // skipped: ${o.why}`
  if (o.kind === 'any') return `  // may throw: ${o.why}`
  return `  // ${o.name}${o.code === '*' || o.code === undefined ? '' : ` ${o.code}`}`
}

/**
 * The sequence, numbered, each call followed by what the model expects of it; `mark` flags the
 * failing step. Files are f0, f1 (in a temp dir); the closing calls at the end are listed too.
 */
export function formatSequence(
  ops: readonly Op[],
  backend: BackendName,
  page: number,
  oneWriter: boolean,
  allow: ReadonlySet<Known>,
  mark = -1
): string {
  const model = new Model({ backend, page, oneWriter, allow })
  const width = String(ops.length).length
  const lines = ops.map((op, i) => {
    const { outcome, settles } = model.apply(op)
    const async =
      settles !== undefined && settles.kind !== 'ok' ? expectation(settles).replace('//', '// rejects:') : ''
    return `${i === mark ? '>' : ' '} ${String(i).padStart(width)}. ${describeOp(op)}${expectation(outcome)}${async}`
  })
  const closing = model.live().map((v) => `close(v${v.id})`)
  const closingIndex = mark - ops.length
  if (closing.length > 0) {
    lines.push(
      `  then: await every syncAsync Promise; ${closing.map((c, i) => (i === closingIndex ? `>${c}<` : c)).join('; ')}`
    )
  }
  return lines.join('\n')
}
