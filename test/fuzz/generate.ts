// Seeded random sequences. A sequence depends on its seed and on `oneWriter` only (never on the
// backend), so one seed names the same calls on native and on wasm. The generator follows the
// sequence with a model, to aim its calls at live views, at windows near page and chunk boundaries,
// and at the fs calls the rules allow (no truncation under a live view: native would die of SIGBUS).

import { Model } from './model'
import type { MView } from './model'
import { CHUNK, Rng, TYPES, valueText } from './types'
import type { Advice, ElemType, Op, Scalar, Value } from './types'

export interface GenerateOptions {
  oneWriter: boolean
  page: number
  /** bounds of a sequence's length; the seed picks one in between */
  minOps?: number
  maxOps?: number
}

const ADVICE: readonly Advice[] = ['normal', 'sequential', 'random', 'willneed', 'dontneed']
const TYPED = TYPES.filter((t) => t.scalar !== null)
const STRUCTS = TYPES.filter((t) => t.scalar === null)

/** A value for a scalar: often 0 or 1 (equal to what the file holds), sometimes any bit pattern but NaN. */
function valueFor(rng: Rng, scalar: Scalar): Value {
  const roll = rng.int(10)
  const big = scalar === 'i64' || scalar === 'u64'
  if (roll < 3) return big ? 0n : 0
  if (roll < 5) return big ? BigInt(rng.range(1, 3)) : rng.range(1, 3)
  const bits = new Uint8Array(8)
  for (let i = 0; i < 8; i++) bits[i] = rng.next() & 255
  const dv = new DataView(bits.buffer)
  switch (scalar) {
    case 'i8':
      return dv.getInt8(0)
    case 'u8':
    case 'c8':
      return dv.getUint8(0)
    case 'i16':
      return dv.getInt16(0, true)
    case 'u16':
      return dv.getUint16(0, true)
    case 'i32':
      return dv.getInt32(0, true)
    case 'u32':
      return dv.getUint32(0, true)
    case 'i64':
      return dv.getBigInt64(0, true)
    case 'u64':
      return dv.getBigUint64(0, true)
    // Float bit patterns of NaN are not preserved by a store: never write one.
    case 'f32': {
      const x = dv.getFloat32(0, true)
      return Number.isNaN(x) ? -0 : x
    }
    case 'f64': {
      const x = dv.getFloat64(0, true)
      return Number.isNaN(x) ? 1.5 : x
    }
  }
}

class Generator {
  private readonly model: Model
  private readonly ops: Op[] = []
  private nextId = 1
  /** files the sequence uses: 1 or 2 */
  private readonly files: number

  constructor(
    private readonly rng: Rng,
    private readonly opts: GenerateOptions
  ) {
    this.files = rng.chance(0.4) ? 1 : 2
    this.model = new Model({ backend: 'native', page: opts.page, oneWriter: opts.oneWriter, allow: new Set() })
  }

  /** A byte position in [0, max], most often within 3 bytes of a page or chunk boundary. */
  private near(max: number): number {
    const { rng } = this
    const roll = rng.int(20)
    let at: number
    if (roll < 7) at = rng.int(Math.floor(max / this.opts.page) + 2) * this.opts.page
    else if (roll < 14) at = rng.int(Math.floor(max / CHUNK) + 2) * CHUNK
    else if (roll < 16) at = rng.chance(0.5) ? 0 : max
    else return rng.range(0, max)
    return Math.max(0, Math.min(max, at + rng.range(-3, 3)))
  }

  /** A file size from 0 to a little over 3 chunks, most often near a chunk boundary. */
  private size(): number {
    const { rng } = this
    const roll = rng.int(20)
    if (roll < 5) return rng.range(0, 2 * this.opts.page + 8)
    if (roll < 14) return Math.max(0, rng.range(1, 3) * CHUNK + rng.range(-3, 3))
    return rng.range(0, 3 * CHUNK + 64)
  }

  private id(): number {
    return this.nextId++
  }

  private fileSize(f: number): number | null {
    return this.model.files[f]?.length ?? null
  }

  private type(): ElemType {
    return this.rng.chance(0.7) ? this.rng.pick(TYPED) : this.rng.pick(STRUCTS)
  }

  /** A view to act on: live ones, 'rw' first; sometimes a closed one (its calls must fail cleanly). */
  private view(filter: (v: MView) => boolean = () => true): MView | null {
    const { rng } = this
    const all = [...this.model.views.values()].filter(filter)
    const live = all.filter((v) => !v.closed)
    if (live.length === 0 || (all.length > live.length && rng.chance(0.06)))
      return all.length === 0 ? null : rng.pick(all)
    const writers = live.filter((v) => v.mode === 'rw')
    return writers.length > 0 && rng.chance(0.7) ? rng.pick(writers) : rng.pick(live)
  }

  /** An element index near a boundary of the file inside v's window; sometimes out of range. */
  private index(v: MView): number {
    const count = this.model.count(v)
    if (count === 0 || this.rng.chance(0.04)) return count + this.rng.int(3)
    const at = this.near(v.offset + v.length)
    return Math.max(0, Math.min(count - 1, Math.floor((at - v.offset) / v.type.size)))
  }

  /** sync's options: none, a range near boundaries, or (rarely) one past the window. */
  /** Mostly durable syncs; a third not waited for the disk ({ durable: false }). */
  private durability(): { durable?: false } {
    return this.rng.chance(0.3) ? { durable: false } : {}
  }

  private syncRange(v: MView): { offset?: number; length?: number } {
    const { rng } = this
    const roll = rng.int(10)
    if (roll < 4) return {}
    if (roll === 9) return { offset: v.length + rng.range(1, 3) }
    const from = Math.max(0, Math.min(v.length, this.near(v.offset + v.length) - v.offset))
    if (roll < 6) return { offset: from }
    const to = Math.max(from, Math.min(v.length, this.near(v.offset + v.length) - v.offset))
    return { offset: from, length: rng.chance(0.05) ? v.length - from + 1 : to - from }
  }

  private push(op: Op): void {
    this.model.apply(op)
    this.ops.push(op)
  }

  /** One call, chosen by weight among those that make sense now. */
  private step(): void {
    const { rng, model } = this
    const files = this.files
    const existing = [...Array(files).keys()].filter((f) => model.files[f] !== null)
    const live = model.live()
    const structs = live.filter((v) => v.type.scalar === null)
    const choices: Array<[number, () => Op | null]> = [
      [existing.length < files ? 6 : 1, () => this.fsInit()],
      // create over a file that a live view maps is EBUSY: now and then, not as often as one that works
      [
        live.length >= 6 ? 0 : [...Array(files).keys()].some((f) => model.liveEnd(f) === 0) ? 5 : 1,
        () => this.create()
      ],
      [live.length < 6 && existing.length > 0 ? 14 : 0, () => this.open(existing)],
      [live.length > 0 ? 18 : 0, () => this.write()],
      [
        structs.length > 0 ? 3 : 0,
        () => {
          const v = rng.pick(structs)
          return { k: 'keep', v: v.id, index: this.index(v), r: this.id() }
        }
      ],
      [model.records.size > 0 ? 4 : 0, () => this.recordWrite()],
      [
        live.length > 0 ? 7 : 0,
        () => {
          const v = this.view()
          return v === null ? null : { k: 'sync', v: v.id, ...this.syncRange(v), ...this.durability() }
        }
      ],
      [
        live.length > 0 ? 5 : 0,
        () => {
          const v = this.view()
          return v === null
            ? null
            : { k: 'syncAsync', v: v.id, ...this.syncRange(v), p: this.id(), ...this.durability() }
        }
      ],
      [live.length > 0 ? 5 : 0, () => this.resize()],
      [
        live.length > 0 ? 2 : 0,
        () => {
          const v = this.view()
          return v === null ? null : { k: 'advise', v: v.id, advice: rng.pick(ADVICE) }
        }
      ],
      [
        live.length > 0 ? (live.length > 3 ? 10 : 5) : 0,
        () => {
          const v = this.view()
          return v === null ? null : { k: 'close', v: v.id }
        }
      ],
      [2, () => ({ k: 'tick' })],
      [existing.length > 0 ? 4 : 0, () => this.fsWrite(existing)],
      [existing.length > 0 ? 2 : 0, () => this.truncate(existing)]
    ]
    let total = 0
    for (const [w] of choices) total += w
    let roll = rng.int(total)
    for (const [w, make] of choices) {
      if (roll < w) {
        const op = make()
        if (op !== null) this.push(op)
        return
      }
      roll -= w
    }
  }

  private create(): Op | null {
    const { rng } = this
    const type = this.type()
    const count = Math.floor(this.size() / type.size)
    // With one writer, never beside a live 'rw' view (it would be skipped).
    const files = [...Array(this.files).keys()].filter(
      (f) => !this.opts.oneWriter || !this.model.live(f).some((v) => v.mode === 'rw')
    )
    if (files.length === 0) return null
    // Mostly where it can work: over a file that no live view maps a byte of (else EBUSY).
    const free = files.filter((f) => this.model.liveEnd(f) === 0)
    const f = free.length > 0 && rng.chance(0.75) ? rng.pick(free) : rng.pick(files)
    const op: Op = { k: 'create', f, count, type: type.name, id: this.id() }
    if (rng.chance(0.2))
      op.data = { len: rng.chance(0.05) ? count * type.size + 1 : rng.range(0, count * type.size), seed: rng.int(1000) }
    return op
  }

  private open(existing: number[]): Op {
    const { rng } = this
    const f = rng.chance(0.04) ? rng.int(this.files) : rng.pick(existing)
    const size = this.fileSize(f) ?? 0
    const type = this.type()
    let mode: 'r' | 'rw' = rng.chance(0.55) ? 'rw' : 'r'
    if (this.opts.oneWriter && this.model.live(f).some((v) => v.mode === 'rw')) mode = 'r'
    const op: Op = { k: 'open', f, type: type.name, mode, id: this.id() }
    if (rng.chance(0.85)) op.offset = rng.chance(0.04) ? size + rng.range(1, 3) : this.near(size)
    const from = op.offset ?? 0
    if (rng.chance(0.65) && from <= size) {
      op.length = rng.chance(0.04) ? size - from + rng.range(1, 3) : Math.max(from, this.near(size)) - from
      // Many windows end within an element or two of the start: views with 0, 1 or 2 elements.
      if (rng.chance(0.1)) op.length = Math.min(size - from, rng.int(2 * type.size + 2))
    }
    // A third of the opens of a file that exists go through a descriptor, closed at once after.
    if (this.fileSize(f) !== null && rng.chance(0.3)) op.byFd = true
    return op
  }

  /** A store through a view (one with elements, mostly): an element, a run of elements, or a struct field. */
  private write(): Op | null {
    const { rng } = this
    const v = this.view((w) => this.model.count(w) > 0 || rng.chance(0.1))
    if (v === null) return null
    if (v.type.scalar === null) {
      const leaf = rng.pick(v.type.leaves)
      return {
        k: 'field',
        v: v.id,
        index: rng.chance(0.05) ? -1 : this.index(v),
        path: leaf.path,
        value: valueText(valueFor(rng, leaf.scalar))
      }
    }
    const value = valueText(valueFor(rng, v.type.scalar))
    if (rng.chance(0.8)) return { k: 'set', v: v.id, index: this.index(v), value }
    const start = this.index(v)
    const span = rng.chance(0.8) ? rng.range(1, 8) : rng.range(1, Math.ceil((2 * this.opts.page) / v.type.size))
    return { k: 'fill', v: v.id, value, start, end: start + span }
  }

  private recordWrite(): Op | null {
    const ids = [...this.model.records.keys()]
    const r = this.rng.pick(ids)
    const rec = this.model.records.get(r)
    if (rec === null || rec === undefined) return null
    const type = (this.model.views.get(rec.v) as MView).type
    const leaf = this.rng.pick(type.leaves)
    return { k: 'rfield', r, path: leaf.path, value: valueText(valueFor(this.rng, leaf.scalar)) }
  }

  /** Grow or shrink, the new end most often near a boundary. */
  private resize(): Op | null {
    const v = this.view((w) => w.mode === 'rw' || this.rng.chance(0.1))
    if (v === null) return null
    const end = this.rng.chance(0.3) ? v.offset + v.length + this.rng.range(-8, 8) : v.offset + this.size()
    return { k: 'resize', v: v.id, count: Math.max(0, Math.floor((end - v.offset) / v.type.size)), id: this.id() }
  }

  /** A new file of seeded bytes, where no live view maps a byte of it (writeFileSync cuts first). */
  private fsInit(): Op | null {
    const free = [...Array(this.files).keys()].filter((f) => this.model.liveEnd(f) === 0)
    if (free.length === 0) return null
    return { k: 'fsInit', f: this.rng.pick(free), size: this.size(), seed: this.rng.int(1000) }
  }

  private fsWrite(existing: number[]): Op {
    const { rng } = this
    const f = rng.pick(existing)
    const pos = this.near((this.fileSize(f) ?? 0) + 4)
    const len = rng.chance(0.85) ? rng.range(1, 16) : rng.range(1, this.opts.page + 8)
    return { k: 'fsWrite', f, pos, len, seed: rng.int(1000) }
  }

  private truncate(existing: number[]): Op {
    const { rng } = this
    const f = rng.pick(existing)
    const low = this.model.liveEnd(f)
    const size = Math.max(low, rng.chance(0.5) ? this.near((this.fileSize(f) ?? 0) + CHUNK) : this.size())
    return { k: 'truncate', f, size }
  }

  run(length: number): Op[] {
    while (this.ops.length < length) this.step()
    return this.ops
  }
}

/** The sequence for `seed`: 1 or 2 files, minOps to maxOps calls. */
export function generate(seed: number, opts: GenerateOptions): Op[] {
  const rng = new Rng(seed)
  const length = rng.range(opts.minOps ?? 8, opts.maxOps ?? 60)
  return new Generator(rng, opts).run(length)
}
