// The registry of open views: one per backend per realm (src/front/shared.ts), whichever copy of the
// package (ESM or CommonJS) and entry point made a view, so that a view made by one is known to all.
// A view's entry says what the front remembers of its mapping; a closed view keeps only what it was.

import type { Backend, Mapping } from './backend.js'
import { argTypeError, closedError, describe, withContext } from './errors.js'
import { shared } from './shared.js'
import { isStructType, StructArray } from './struct.js'
import type { Closing, Mode, View, ViewType } from './types.js'

/** What the front remembers of one open mapping. Shared by the views a resize chain made. */
export interface Open {
  mapping: Mapping
  readonly kind: 'file' | 'memory'
  readonly mode: Mode
  readonly path: string | null
  /** the descriptor a view of a descriptor was made from (it has no path) */
  readonly fd?: number
  readonly offset: number
  readonly type: ViewType
  /** made by mmapfile/mmap-io's map(): a Buffer that mmap-io knows, which resize cannot remake */
  readonly mmapIo?: true
}

/** What the front remembers of a closed view: only what it was, so that free can tell. */
export interface Closed {
  readonly closed: true
  readonly kind: Open['kind']
}
export const CLOSED: { readonly [K in Open['kind']]: Closed } = {
  file: Object.freeze({ closed: true, kind: 'file' }),
  memory: Object.freeze({ closed: true, kind: 'memory' })
}

/** Every view handed out, open or closed. */
export type Registry = WeakMap<object, Open | Closed>

/** One backend and the registry of its views. */
export interface Front {
  readonly backend: Backend
  readonly views: Registry
}

/** The realm's front for the backend named `name`, loading the backend the first time it is asked for. */
export function frontOf(name: Backend['name'], load: () => Backend): Front {
  return shared(`front:${name}`, () => {
    const front: Front = { backend: load(), views: new WeakMap() }
    fronts().push(front)
    return front
  })
}

/** Every front of the realm, one per backend loaded. */
const fronts = (): Front[] => shared('fronts', () => [])

// `using v = open(...)` (TypeScript 5.2, Explicit Resource Management) calls v[Symbol.dispose]() at the
// end of the scope. Node 20 has Symbol.dispose; where a runtime lacks it, a polyfill's (installed before
// mmapfile is loaded: TypeScript's lowering of `using` needs one), else the symbol esbuild's lowering
// falls back to.
const DISPOSE: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('Symbol.dispose')

/** view[Symbol.dispose](): close(view), whichever backend made it. */
function dispose(this: unknown): void {
  const view = this as object
  const front = fronts().find((f) => f.views.has(view))
  if (front === undefined) throw argTypeError('close', `expected a view made by mmapfile, got ${describe(view)}`)
  release(front, 'close', view, 'any')
}

// Where [Symbol.dispose] lives. A StructArray's is on StructArray.prototype: no cost at all. A typed
// array's prototype is the language's, so a typed-array view could only hold it as its own property;
// its shape would then differ from a plain typed array's, and a function given both views and plain
// typed arrays wrote elements 1.25x to 1.4x slower (node --expose-gc bench/elements.mjs, "mixed"
// rows; a subclass per type cost the same). So typed-array views take `using` through closing(view).
Object.defineProperty(StructArray.prototype, DISPOSE, { value: dispose, writable: true, configurable: true })

export function isClosed(entry: Open | Closed): entry is Closed {
  return 'closed' in entry
}

/** The registry's entry for `view`, open or closed; a TypeError for what mmapfile did not make. */
export function entryOf(views: Registry, fn: string, view: unknown): Open | Closed {
  const entry = typeof view === 'object' && view !== null ? views.get(view) : undefined
  if (entry === undefined) throw argTypeError(fn, `expected a view made by mmapfile, got ${describe(view)}`)
  return entry
}

/** The open entry of a view of the registry; a TypeError for what is not one, or is closed. */
export function lookUpIn(views: Registry, fn: string, view: unknown): Open {
  const entry = entryOf(views, fn, view)
  if (isClosed(entry)) throw closedError(fn)
  return entry
}

/** The error of a call on an open view, naming its file (or descriptor). */
export function failed(error: unknown, fn: string, open: Open): unknown {
  return withContext(error, fn, open.path, open.fd ?? null)
}

/** A new view of `open`'s mapping, registered. */
export function register(front: Front, open: Open): View {
  const { type, mapping } = open
  const count = Math.floor(mapping.byteLength / type.BYTES_PER_ELEMENT)
  let view: View
  if (isStructType(type)) {
    view = new StructArray(type, mapping.buffer, mapping.byteOffset, count)
  } else {
    view = new type(mapping.buffer, mapping.byteOffset, count)
  }
  front.views.set(view, open)
  return view
}

/**
 * close (`kinds` 'any') or free ('memory') of `view`: writes back, unmaps and marks it closed. A closed
 * view is a no-op. If writing back fails, the backend keeps the mapping whole and the view stays open,
 * so that a later call can retry once the cause is gone.
 */
export function release(front: Front, fn: string, view: unknown, kinds: 'any' | 'memory'): void {
  const entry = entryOf(front.views, fn, view)
  if (kinds === 'memory' && entry.kind !== 'memory') {
    throw argTypeError(fn, 'free releases malloc views; use close for a file view')
  }
  if (isClosed(entry)) return
  try {
    front.backend.close(entry.mapping)
  } catch (error) {
    throw failed(error, fn, entry)
  }
  front.views.set(view as object, CLOSED[entry.kind])
}

// ---- for mmapfile/mmap-io (src/compat/mmap-io.ts): views that are Node Buffers, made from descriptors

/**
 * Maps `length` bytes at `offset` of the descriptor `fd` and returns the view `make` makes over them
 * (mmapfile/mmap-io: a Node Buffer), registered with the front like any other view, so that every call
 * of the API takes it. Closed once nothing refers to the bytes any more (native; wasm: to the view),
 * as gcopen does. `follow`: MapOptions.follow.
 */
export function openBufferOf(
  front: Front,
  fn: string,
  fd: number,
  mode: Mode,
  offset: number,
  length: number,
  follow: boolean,
  make: (buffer: ArrayBuffer, byteOffset: number, byteLength: number) => Uint8Array
): Uint8Array {
  const { backend, views } = front
  let mapping: Mapping
  try {
    mapping = backend.openFd(fd, mode, offset, length, { autoClose: true, sparse: false, follow })
  } catch (error) {
    throw withContext(error, fn, null, fd)
  }
  let view: Uint8Array
  try {
    view = make(mapping.buffer, mapping.byteOffset, mapping.byteLength)
  } catch (error) {
    backend.close(mapping) // nothing was written through it: this writes nothing back
    throw error
  }
  views.set(view, { mapping, kind: 'file', mode, path: null, fd, offset, type: Uint8Array, mmapIo: true })
  return view
}

/** The mapping behind an open view of the front (a TypeError otherwise), and the error of a call on it. */
export function mappingOf(
  front: Front,
  fn: string,
  view: unknown
): { mapping: Mapping; failed: (error: unknown) => unknown } {
  const open = lookUpIn(front.views, fn, view)
  return { mapping: open.mapping, failed: (error) => failed(error, fn, open) }
}

/** closing(view): `using c = closing(view)` closes the view at the end of the scope (see DISPOSE). */
export function closing<V extends View>(front: Front, view: V): Closing<V> {
  entryOf(front.views, 'closing', view)
  return Object.freeze({ view, [DISPOSE]: () => release(front, 'close', view, 'any') }) as unknown as Closing<V>
}
