// The two models the fuzzer holds the backends to: what API.md says each backend does with the bytes
// of a file and of every view of it. They share every rule (errors, EBUSY, sizes, zero-fill, which
// calls change nothing) and differ only where API.md lets the backends differ:
//  - native: 'rw'/create views ARE the file's bytes (one shared page cache); an 'r' view is a private
//    copy-on-write mapping: a page (PAGE_SIZE, aligned to file offsets) written through it holds the
//    file's page as it was at that first write, then the writes; a page never written shows the file.
//  - wasm: every 'rw'/create view holds `content` and `base` (the window's bytes as last agreed with
//    the file); a write-back of a chunk it changed writes the chunk's granule and carries it into the
//    other 'rw' views of the file (see writeBack); an 'r' view is a snapshot taken at open. Plain fs
//    writes change only the file.
// One model instance follows one sequence; `apply` returns what the call must do.

import { CHUNK, fieldBytes, parseValue, seededBytes, typeNamed, typedBytes } from './types'
import type { ElemType, Op } from './types'
import type { Applied, MView, ModelOptions, Outcome } from './outcome'

export type { Applied, BackendName, MView, ModelOptions, Outcome } from './outcome'

const ok: Outcome = { kind: 'ok' }
const closedView: Outcome = { kind: 'error', name: 'TypeError', code: 'ERR_MMAPFILE_CLOSED' }
const outOfRange: Outcome = { kind: 'error', name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }
const busy: Outcome = { kind: 'error', name: 'Error', code: 'EBUSY' }
const skip = (why: string): Applied => ({ outcome: { kind: 'skip', why } })

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** `bytes` cut or zero-extended to `size`. */
function sized(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size)
  out.set(bytes.subarray(0, Math.min(size, bytes.length)))
  return out
}

export class Model {
  readonly files: Array<Uint8Array | null> = [null, null]
  readonly views = new Map<number, MView>()
  /** kept records: view id and element index; null where `at` gave undefined */
  readonly records = new Map<number, { v: number; index: number } | null>()

  constructor(readonly opts: ModelOptions) {}

  // -------------------------------------------------------------------------------------------
  // Queries (the generator and the executor use them too).

  live(f?: number): MView[] {
    return [...this.views.values()].filter((v) => !v.closed && (f === undefined || v.file === f))
  }

  /** The largest window end among live views of f that map at least a byte: a cut below it is refused. */
  liveEnd(f: number, except?: MView): number {
    let end = 0
    for (const v of this.live(f)) if (v !== except && v.length > 0) end = Math.max(end, v.offset + v.length)
    return end
  }

  count(v: MView): number {
    return Math.floor(v.length / v.type.size)
  }

  /** What the view shows (its elements' bytes); null once closed (the view must be empty then). */
  viewBytes(id: number): Uint8Array | null {
    const v = this.views.get(id)
    if (v === undefined || v.closed) return null
    return this.read(v, 0, this.count(v) * v.type.size)
  }

  // -------------------------------------------------------------------------------------------
  // Bytes of a view's window (window-relative), per backend.

  private read(v: MView, start: number, end: number): Uint8Array {
    if (this.opts.backend === 'wasm') return v.content.slice(start, end)
    const file = this.files[v.file] ?? new Uint8Array(0)
    const out = sized(file.subarray(Math.min(file.length, v.offset + start)), end - start)
    if (v.mode === 'r') {
      const page = this.opts.page
      for (const [index, bytes] of v.cow) {
        const s = Math.max(index * page, v.offset + start)
        const e = Math.min((index + 1) * page, v.offset + end)
        if (s < e) out.set(bytes.subarray(s - index * page, e - index * page), s - v.offset - start)
      }
    }
    return out
  }

  private write(v: MView, at: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return
    if (this.opts.backend === 'wasm') {
      v.content.set(bytes, at)
      return
    }
    const from = v.offset + at
    if (v.mode === 'rw') {
      ;(this.files[v.file] as Uint8Array).set(bytes, from)
      return
    }
    // Copy-on-write: every page the store touches becomes private, as the file's page is now.
    const page = this.opts.page
    const file = this.files[v.file] ?? new Uint8Array(0)
    for (let index = Math.floor(from / page); index * page < from + bytes.length; index++) {
      let copy = v.cow.get(index)
      if (copy === undefined) v.cow.set(index, (copy = sized(file.subarray(Math.min(file.length, index * page)), page)))
      const s = Math.max(index * page, from)
      const e = Math.min((index + 1) * page, from + bytes.length)
      copy.set(bytes.subarray(s - from, e - from), s - index * page)
    }
  }

  /**
   * wasm: writes back the chunks of v that meet window bytes [start, end) and that v changed, in
   * file order, carrying each into the other live 'rw' views of the file: a view that did not change
   * that chunk takes the written bytes; one that did keeps its own changes, recognised as the bytes
   * that differ from what the file held before this write (`old`: all the implementation can see).
   */
  private writeBack(v: MView, start: number, end: number): void {
    if (this.opts.backend !== 'wasm' || v.mode !== 'rw' || start >= end) return
    const { offset } = v
    const granule = (w: MView, c: number): [number, number] => [
      Math.max(w.offset, c * CHUNK),
      Math.min(w.offset + w.length, (c + 1) * CHUNK)
    ]
    for (let c = Math.floor((offset + start) / CHUNK); c <= Math.floor((offset + end - 1) / CHUNK); c++) {
      const [gs, ge] = granule(v, c)
      const mine = v.content.subarray(gs - offset, ge - offset)
      if (same(mine, v.base.subarray(gs - offset, ge - offset))) continue
      let file = this.files[v.file] as Uint8Array
      const old = sized(file.subarray(Math.min(file.length, gs)), ge - gs)
      if (file.length < ge) this.files[v.file] = file = sized(file, ge)
      file.set(mine, gs)
      v.base.set(mine, gs - offset)
      for (const w of this.live(v.file)) {
        if (w === v || w.mode !== 'rw') continue
        const rs = Math.max(gs, w.offset)
        const re = Math.min(ge, w.offset + w.length)
        if (rs >= re) continue
        const [ws, we] = granule(w, c)
        if (same(w.content.subarray(ws - w.offset, we - w.offset), w.base.subarray(ws - w.offset, we - w.offset))) {
          w.content.set(file.subarray(rs, re), rs - w.offset)
          w.base.set(w.content.subarray(ws - w.offset, we - w.offset), ws - w.offset)
        } else {
          for (let i = rs; i < re; i++)
            if (w.content[i - w.offset] === old[i - gs]) w.content[i - w.offset] = file[i] as number
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------

  private addView(
    id: number,
    file: number,
    mode: 'r' | 'rw',
    offset: number,
    length: number,
    type: ElemType,
    content: Uint8Array
  ): MView {
    const v: MView = {
      id,
      file,
      mode,
      offset,
      length,
      type,
      closed: false,
      cow: new Map(),
      content,
      base: content.slice()
    }
    this.views.set(id, v)
    return v
  }

  private known(id: number): MView | null {
    const v = this.views.get(id)
    return v === undefined ? null : v
  }

  private hasWriter(f: number): boolean {
    return this.live(f).some((v) => v.mode === 'rw')
  }

  /** syncRange of src/front/api.ts: a window-relative range, or the RangeError. */
  private range(v: MView, offset?: number, length?: number): [number, number] | null {
    const from = offset ?? 0
    if (from > v.length) return null
    const n = length ?? v.length - from
    return from + n > v.length ? null : [from, n]
  }

  apply(op: Op): Applied {
    switch (op.k) {
      case 'fsInit':
      case 'fsWrite':
      case 'truncate':
        return this.fsCall(op)
      case 'create':
        return this.create(op)
      case 'open':
        return this.open(op)
      case 'set':
      case 'fill':
        return this.store(op)
      case 'field':
      case 'keep':
      case 'rfield':
        return this.structCall(op)
      case 'sync':
      case 'syncAsync': {
        const v = this.known(op.v)
        if (v === null) return skip('no such view')
        const settle = (o: Outcome): Applied =>
          op.k === 'sync' ? { outcome: o } : { outcome: { kind: 'ok', note: 'promise' }, settles: o }
        if (v.closed) return settle(closedView)
        const range = this.range(v, op.offset, op.length)
        if (range === null) return settle(outOfRange)
        // syncAsync writes back at the call, like sync; only the wait for the disk comes later.
        this.writeBack(v, range[0], range[0] + range[1])
        return settle(ok)
      }
      case 'resize':
        return this.resize(op.v, op.count, op.id)
      case 'advise': {
        const v = this.known(op.v)
        if (v === null) return skip('no such view')
        return { outcome: v.closed ? closedView : ok }
      }
      case 'close': {
        const v = this.known(op.v)
        if (v === null) return skip('no such view')
        if (!v.closed) this.writeBack(v, 0, v.length)
        v.closed = true
        return { outcome: ok }
      }
      case 'tick':
        return { outcome: ok }
    }
  }

  /** Plain node:fs calls: they change the file only (and what native views show of it). */
  private fsCall(op: Extract<Op, { k: 'fsInit' | 'fsWrite' | 'truncate' }>): Applied {
    const file = this.files[op.f]
    if (op.k === 'fsInit') {
      // writeFileSync empties the file first: a cut under every live view (on Linux even the private
      // pages of an 'r' view go), which API.md leaves outside the library's control.
      if (this.liveEnd(op.f) > 0) return skip('would cut the file under a live view')
      this.files[op.f] = seededBytes(op.size, op.seed)
      return { outcome: ok }
    }
    if (file === null || file === undefined) return skip('no such file')
    if (op.k === 'truncate') {
      if (op.size < this.liveEnd(op.f)) return skip('would cut the file under a live view')
      this.files[op.f] = sized(file, op.size)
      return { outcome: ok }
    }
    const grown = file.length < op.pos + op.len ? sized(file, op.pos + op.len) : file
    grown.set(seededBytes(op.len, op.seed), op.pos)
    this.files[op.f] = grown
    return { outcome: ok }
  }

  private create(op: Extract<Op, { k: 'create' }>): Applied {
    const type = typeNamed(op.type)
    const byteLength = op.count * type.size
    if (op.data !== undefined && op.data.len > byteLength) return { outcome: outOfRange }
    if (this.opts.oneWriter && this.hasWriter(op.f)) return skip('one writer per file')
    if (this.liveEnd(op.f) > 0) return { outcome: busy }
    this.files[op.f] = new Uint8Array(byteLength)
    const v = this.addView(op.id, op.f, 'rw', 0, byteLength, type, new Uint8Array(byteLength))
    if (op.data !== undefined) this.write(v, 0, seededBytes(op.data.len, op.data.seed))
    return { outcome: ok }
  }

  private open(op: Extract<Op, { k: 'open' }>): Applied {
    const type = typeNamed(op.type)
    if (this.opts.oneWriter && op.mode === 'rw' && this.hasWriter(op.f)) return skip('one writer per file')
    const file = this.files[op.f]
    if (file === null || file === undefined) return { outcome: { kind: 'error', name: 'Error', code: 'ENOENT' } }
    const offset = op.offset ?? 0
    // The window checks come from the backends, whose RangeErrors carry no code today.
    const beyond: Outcome = { kind: 'error', name: 'RangeError', code: '*' }
    if (offset > file.length) return { outcome: beyond }
    if (op.length !== undefined && offset + op.length > file.length) return { outcome: beyond }
    const length = op.length ?? file.length - offset
    this.addView(op.id, op.f, op.mode, offset, length, type, file.slice(offset, offset + length))
    return { outcome: ok }
  }

  /** Stores through a typed view: an element, or a run of them (fill). */
  private store(op: Extract<Op, { k: 'set' | 'fill' }>): Applied {
    const v = this.known(op.v)
    if (v === null) return skip('no such view')
    if (v.type.scalar === null) return skip('not a typed view')
    const bytes = typedBytes(v.type.scalar, parseValue(op.value))
    // A closed view has length 0: a store is ignored; fill of a detached buffer throws, of an
    // empty one (wasm's closed empty views) does not.
    if (v.closed) return { outcome: op.k === 'set' ? ok : { kind: 'any', why: 'fill of a closed view' } }
    const count = this.count(v)
    // TypedArray.prototype.fill's relative indices; a store out of range is ignored.
    const relative = (i: number): number => (i < 0 ? Math.max(count + i, 0) : Math.min(i, count))
    const [start, end] = op.k === 'set' ? [op.index, op.index + 1] : [relative(op.start), relative(op.end)]
    if (start < 0 || start >= count || start >= end) return { outcome: ok }
    const all = new Uint8Array((end - start) * bytes.length)
    for (let i = 0; i < end - start; i++) all.set(bytes, i * bytes.length)
    this.write(v, start * v.type.size, all)
    return { outcome: ok }
  }

  /** Struct views: `at(i)` and a field store through it, or through a record kept earlier. */
  private structCall(op: Extract<Op, { k: 'field' | 'keep' | 'rfield' }>): Applied {
    if (op.k === 'rfield') {
      const rec = this.records.get(op.r)
      if (rec === undefined || rec === null) return skip('no such record')
      const v = this.views.get(rec.v) as MView
      if (!v.type.leaves.some((l) => l.path === op.path)) return skip('no such field')
      if (v.closed) return { outcome: closedView }
      this.writeField(v, rec.index, op.path, op.value)
      return { outcome: ok }
    }
    const v = this.known(op.v)
    if (v === null) return skip('no such view')
    if (v.type.scalar !== null) return skip('not a struct view')
    if (op.k === 'field' && !v.type.leaves.some((l) => l.path === op.path)) return skip('no such field')
    const count = v.closed ? 0 : this.count(v)
    const index = op.index < 0 ? op.index + count : op.index
    const found = index >= 0 && index < count
    if (op.k === 'keep') this.records.set(op.r, found ? { v: v.id, index } : null)
    else if (found) this.writeField(v, index, op.path, op.value)
    return { outcome: { kind: 'ok', note: found ? 'record' : 'undefined' } }
  }

  private writeField(v: MView, index: number, path: string, value: string): void {
    const leaf = v.type.leaves.find((l) => l.path === path)
    if (leaf === undefined) throw new Error(`fuzz: no field ${path} in ${v.type.name}`)
    this.write(v, index * v.type.size + leaf.offset, fieldBytes(leaf.scalar, parseValue(value)))
  }

  /**
   * resize: refused (EBUSY, nothing changed) if another live non-empty view ends beyond the kept
   * part of the window; else the file becomes offset + count × size bytes, zeros from the kept end.
   * wasm first writes back the chunk holding the kept part's last byte when that chunk changes length.
   */
  private resize(id: number, count: number, newId: number): Applied {
    const v = this.known(id)
    if (v === null) return skip('no such view')
    if (v.closed) return { outcome: closedView }
    if (v.mode === 'r') return { outcome: { kind: 'error', name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' } }
    const length = count * v.type.size
    const common = Math.min(v.length, length)
    const keep = v.offset + common
    if (this.liveEnd(v.file, v) > keep) return { outcome: busy }
    if (common > 0 && keep % CHUNK !== 0) this.writeBack(v, common - 1, common)
    const file = this.files[v.file] as Uint8Array
    this.files[v.file] = sized(file.subarray(0, Math.min(file.length, keep)), v.offset + length)
    v.closed = true
    const next = this.addView(
      newId,
      v.file,
      'rw',
      v.offset,
      length,
      v.type,
      sized(v.content.subarray(0, common), length)
    )
    next.base = sized(v.base.subarray(0, common), length)
    return { outcome: ok }
  }
}
