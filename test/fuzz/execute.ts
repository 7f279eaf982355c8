// Runs a sequence on a real backend beside its model, and compares after every call: the call's
// outcome (success, or the error's class and code), every file's bytes (read with node:fs), and every
// view the sequence made (live: its length and bytes, and info(); closed: length 0). At the end it
// awaits every syncAsync Promise, then closes the views still open, comparing after each close.

import * as fs from 'node:fs'
import * as path from 'node:path'
import { Model } from './model'
import type { BackendName, Outcome } from './model'
import type { Known } from './known'
import { describeOp } from './format'
import { CHUNK, parseValue, seededBytes, structFields, TYPES } from './types'
import type { Op, Sequence } from './types'

/** The public API of one backend (`mmapfile/native` or `mmapfile/wasm`); views are untyped here. */
export interface Api {
  create: (...args: any[]) => any
  open: (...args: any[]) => any
  close: (view: any) => void
  sync: (view: any, options?: object) => void
  syncAsync: (view: any, options?: object) => Promise<void>
  resize: (view: any, count: number) => any
  advise: (view: any, advice: string) => void
  info: (view: any) => { path: string | null; mode: string; offset: number; byteLength: number }
  struct: (fields: any) => any
  readonly PAGE_SIZE: number
  readonly capabilities: { readonly writeBackGranularity: number }
}

export interface ExecuteOptions {
  backend: BackendName
  /** where the sequence's files go (a fresh directory is made inside) */
  dir: string
  /** deviations from API.md to accept (known.ts) */
  allow: ReadonlySet<Known>
  /** false: compare files and outcomes only (a diagnostic: which writes reach the file) */
  views?: boolean
}

export interface Failure {
  /** index of the op in the sequence; ops.length + k for the k-th closing call at the end */
  step: number
  /** what differed: 'outcome', 'file', 'view', 'promise', or 'harness' (the fuzzer itself threw) */
  kind: string
  message: string
}

export interface Result {
  failure: Failure | null
  /** calls made (skipped ones not counted) */
  steps: number
}

const SETTLE_MS = 20_000

function outcomeOf(error: unknown): Outcome & { message?: string } {
  const e = error as { code?: unknown; message?: unknown }
  const name = error instanceof TypeError ? 'TypeError' : error instanceof RangeError ? 'RangeError' : 'Error'
  const code = typeof e?.code === 'string' ? e.code : undefined
  return { kind: 'error', name, code, message: error instanceof Error ? error.message : `threw ${String(error)}` }
}

function sameOutcome(expected: Outcome, actual: Outcome): boolean {
  if (expected.kind === 'any') return true
  if (expected.kind === 'ok') return actual.kind === 'ok' && expected.note === actual.note
  if (expected.kind !== 'error' || actual.kind !== 'error') return false
  return expected.name === actual.name && (expected.code === '*' || expected.code === actual.code)
}

export function showOutcome(o: Outcome & { message?: string }): string {
  if (o.kind === 'ok') return o.note === undefined ? 'ok' : `ok (${o.note})`
  if (o.kind === 'skip') return `skipped: ${o.why}`
  if (o.kind === 'any') return `anything but a crash (${o.why})`
  const code = o.code === '*' ? '' : ` [${String(o.code)}]`
  return `${o.name}${code}${o.message === undefined ? '' : `: ${o.message}`}`
}

/** The first index where a and b differ, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  if (Buffer.from(a.buffer, a.byteOffset, n).equals(Buffer.from(b.buffer, b.byteOffset, n)))
    return a.length === b.length ? -1 : n
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return n
}

/** Walks a leaf path ("n.q", "v[1]", "pts[2].x") from a record and assigns its last step. An index
 *  into an array of structs (a StructArray) goes through at(), one into a typed array through []. */
function assignLeaf(record: any, leaf: string, value: unknown): void {
  const steps = leaf.split(/\.|\[|\]/).filter((s) => s !== '')
  let target = record
  for (const s of steps.slice(0, -1)) {
    target = /^\d+$/.test(s) && !ArrayBuffer.isView(target) ? target.at(Number(s)) : target[s]
  }
  target[steps[steps.length - 1] as string] = value
}

class Execution {
  readonly model: Model
  private readonly views = new Map<number, any>()
  private readonly records = new Map<number, any>()
  private readonly pending: Array<{ op: Op; step: number; expected: Outcome; settled: Promise<Outcome> }> = []
  private readonly types = new Map<string, unknown>()
  /** views made from a descriptor (and what resize made of them): info() gives path null */
  private readonly fromFd = new Set<number>()

  private readonly checkViews: boolean

  constructor(
    private readonly api: Api,
    private readonly dir: string,
    opts: ExecuteOptions,
    oneWriter: boolean
  ) {
    this.checkViews = opts.views !== false
    // The wasm model writes back CHUNK-byte granules: a backend with other granules needs another model.
    const granule = api.capabilities.writeBackGranularity
    if (opts.backend === 'wasm' && granule !== CHUNK)
      throw new Error(`fuzz: wasm writes back ${granule}-byte granules; the model knows ${CHUNK}`)
    this.model = new Model({ backend: opts.backend, page: api.PAGE_SIZE, oneWriter, allow: opts.allow })
    for (const t of TYPES) {
      const real = t.fields === null ? (globalThis as any)[t.name] : api.struct(structFields(t.fields, api.struct))
      if (real.BYTES_PER_ELEMENT !== t.size)
        throw new Error(`fuzz: ${t.name} is ${String(real.BYTES_PER_ELEMENT)} bytes, the C layout says ${t.size}`)
      this.types.set(t.name, real)
    }
  }

  file(f: number): string {
    return path.join(this.dir, `f${f}.bin`)
  }

  /** Makes the call on the real backend. Only ops the model did not skip get here. */
  call(op: Op, step: number, expectedSettle: Outcome | undefined): Outcome {
    const { api } = this
    const view = 'v' in op ? this.views.get(op.v) : undefined
    const range = (o: { offset?: number; length?: number; durable?: false }): object | undefined =>
      o.offset === undefined && o.length === undefined && o.durable === undefined
        ? undefined
        : { offset: o.offset, length: o.length, ...(o.durable === false ? { durable: false } : {}) }
    try {
      switch (op.k) {
        case 'fsInit':
          fs.writeFileSync(this.file(op.f), seededBytes(op.size, op.seed))
          break
        case 'fsWrite': {
          const fd = fs.openSync(this.file(op.f), 'r+')
          try {
            fs.writeSync(fd, seededBytes(op.len, op.seed), 0, op.len, op.pos)
          } finally {
            fs.closeSync(fd)
          }
          break
        }
        case 'truncate':
          fs.truncateSync(this.file(op.f), op.size)
          break
        case 'create': {
          const args: unknown[] = [this.file(op.f), op.count, this.types.get(op.type)]
          if (op.data !== undefined) args.push(seededBytes(op.data.len, op.data.seed))
          this.views.set(op.id, api.create(...args))
          break
        }
        case 'open': {
          const options = range(op)
          // Through a descriptor: the caller's, closed once the view is made (the view keeps its own).
          const fd = op.byFd === true ? fs.openSync(this.file(op.f), op.mode === 'rw' ? 'r+' : 'r') : -1
          try {
            const args: unknown[] = [fd >= 0 ? fd : this.file(op.f), this.types.get(op.type), op.mode]
            if (options !== undefined) args.push(options)
            this.views.set(op.id, api.open(...args))
            if (fd >= 0) this.fromFd.add(op.id)
          } finally {
            if (fd >= 0) fs.closeSync(fd)
          }
          break
        }
        case 'set':
          view[op.index] = parseValue(op.value)
          break
        case 'fill':
          view.fill(parseValue(op.value), op.start, op.end)
          break
        case 'field':
        case 'keep': {
          const record = view.at(op.index)
          if (op.k === 'keep') this.records.set(op.r, record)
          else if (record !== undefined) assignLeaf(record, op.path, parseValue(op.value))
          return { kind: 'ok', note: record === undefined ? 'undefined' : 'record' }
        }
        case 'rfield':
          assignLeaf(this.records.get(op.r), op.path, parseValue(op.value))
          break
        case 'sync':
          api.sync(view, range(op))
          break
        case 'syncAsync': {
          const promise: unknown = api.syncAsync(view, range(op))
          if (!(promise instanceof Promise)) return { kind: 'error', name: 'Error', code: 'NOT_A_PROMISE' }
          const settled = promise.then((): Outcome => ({ kind: 'ok' }), outcomeOf)
          this.pending.push({ op, step, expected: expectedSettle as Outcome, settled })
          return { kind: 'ok', note: 'promise' }
        }
        case 'resize':
          this.views.set(op.id, api.resize(view, op.count))
          if (this.fromFd.has(op.v)) this.fromFd.add(op.id)
          break
        case 'advise':
          api.advise(view, op.advice)
          break
        case 'close':
          api.close(view)
          break
        case 'tick':
          break
      }
    } catch (error) {
      return outcomeOf(error)
    }
    return { kind: 'ok' }
  }

  describeView(id: number): string {
    const v = this.model.views.get(id)
    if (v === undefined) return `v${id}`
    return `v${id} ('${v.mode}' window [${v.offset}, ${v.offset + v.length}) of f${v.file} as ${v.type.name})`
  }

  /** Every file and every view the sequence made, against the model; a message per difference found first. */
  compare(): string | null {
    const { model } = this
    for (let f = 0; f < model.files.length; f++) {
      let real: Uint8Array | null = null
      try {
        real = fs.readFileSync(this.file(f))
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'ENOENT') throw error
      }
      const expected = model.files[f] ?? null
      if ((real === null) !== (expected === null))
        return `file f${f} ${real === null ? 'is missing' : 'exists'}; the model says it ${expected === null ? 'does not exist' : 'exists'}`
      if (real === null || expected === null) continue
      const at = firstDifference(real, expected)
      if (at < 0) continue
      if (real.length !== expected.length)
        return `file f${f} is ${real.length} bytes; the model says ${expected.length}`
      return `file f${f} byte ${at} is ${String(real[at])}; the model says ${String(expected[at])}`
    }
    for (const [id, view] of this.checkViews ? this.views : []) {
      const expected = model.viewBytes(id)
      const what = this.describeView(id)
      if (expected === null) {
        if (view.length !== 0 || view.byteLength !== 0) return `${what} is closed but has length ${String(view.length)}`
        continue
      }
      const mv = model.views.get(id)
      if (mv === undefined) continue
      if (view.length !== model.count(mv))
        return `${what} has length ${String(view.length)}; the model says ${model.count(mv)}`
      const real = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
      const at = firstDifference(real, expected)
      if (at >= 0) {
        return `${what} byte ${at} (file offset ${mv.offset + at}) is ${String(real[at])}; the model says ${String(expected[at])}`
      }
      const info = this.api.info(view)
      const want = {
        path: this.fromFd.has(id) ? null : this.file(mv.file),
        mode: mv.mode,
        offset: mv.offset,
        byteLength: mv.length
      }
      const got = { path: info.path, mode: info.mode, offset: info.offset, byteLength: info.byteLength }
      if (JSON.stringify(got) !== JSON.stringify(want))
        return `${what}: info() gives ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`
    }
    return null
  }

  /** Runs one op and compares; a Failure, or null. */
  async step(op: Op, step: number): Promise<Failure | null | 'skipped'> {
    const { outcome, settles } = this.model.apply(op)
    if (outcome.kind === 'skip') return 'skipped'
    if (op.k === 'tick') await new Promise((resolve) => setTimeout(resolve, 1))
    const actual = this.call(op, step, settles)
    if (!sameOutcome(outcome, actual)) {
      return {
        step,
        kind: 'outcome',
        message: `${describeOp(op)} gave ${showOutcome(actual)}; the model says ${showOutcome(outcome)}`
      }
    }
    const difference = this.compare()
    if (difference === null) return null
    const kind = difference.startsWith('file') ? 'file' : 'view'
    return { step, kind, message: `after ${describeOp(op)}: ${difference}` }
  }

  /** Awaits every syncAsync Promise (each must settle as the model says, within SETTLE_MS). */
  async settle(): Promise<Failure | null> {
    for (const { op, step, expected, settled } of this.pending) {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), SETTLE_MS)
      })
      const actual = await Promise.race([settled, late])
      clearTimeout(timer)
      if (actual === 'late')
        return {
          step,
          kind: 'promise',
          message: `${describeOp(op)}: the Promise did not settle within ${SETTLE_MS} ms`
        }
      if (!sameOutcome(expected, actual)) {
        return {
          step,
          kind: 'promise',
          message: `${describeOp(op)}: the Promise gave ${showOutcome(actual)}; the model says ${showOutcome(expected)}`
        }
      }
    }
    this.pending.length = 0
    return null
  }

  /** Whatever happened: closes every real view, waits for the Promises, removes the files. */
  async cleanUp(): Promise<void> {
    for (const view of this.views.values()) {
      try {
        this.api.close(view)
      } catch {
        /* a failure was reported already */
      }
    }
    let timer: NodeJS.Timeout | undefined
    const late = new Promise((resolve) => {
      timer = setTimeout(resolve, SETTLE_MS)
    })
    await Promise.race([Promise.allSettled(this.pending.map((p) => p.settled)), late])
    clearTimeout(timer)
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Runs `seq` on `api`; the first difference from the model, if any. */
export async function execute(
  api: Api,
  seq: Pick<Sequence, 'ops' | 'oneWriter'>,
  opts: ExecuteOptions
): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(opts.dir, 'seq-'))
  const run = new Execution(api, dir, opts, seq.oneWriter)
  let steps = 0
  try {
    const { ops } = seq
    for (let i = 0; i < ops.length; i++) {
      const failure = await run.step(ops[i] as Op, i)
      if (failure === 'skipped') continue
      steps++
      if (failure !== null) return { failure, steps }
    }
    const unsettled = await run.settle()
    if (unsettled !== null) return { failure: unsettled, steps }
    const closing = run.model.live().map((v): Op => ({ k: 'close', v: v.id }))
    for (let i = 0; i < closing.length; i++) {
      const failure = await run.step(closing[i] as Op, ops.length + i)
      steps++
      if (failure !== null && failure !== 'skipped') return { failure, steps }
    }
    return { failure: null, steps }
  } catch (error) {
    const e = error as Error
    return { failure: { step: -1, kind: 'harness', message: `the fuzzer threw: ${e.stack ?? String(e)}` }, steps }
  } finally {
    await run.cleanUp()
  }
}
