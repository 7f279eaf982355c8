// What every copy of mmapfile loaded in one JavaScript realm (a process, or a worker thread) shares.
//
// Why: the ESM and CommonJS builds are two copies of this code, and every entry point (mmapfile,
// mmapfile/native, mmapfile/wasm) may be loaded by either. API.md asks that a view made through one
// entry point be accepted by every other of the same backend, and that the rules spanning the views
// of one file (EBUSY, coherence) hold across them: so there is one backend object and one registry of
// views per backend per realm, kept on globalThis under a key that names this version (two different
// versions of the package do not share their internals).

declare const __MMAPFILE_VERSION__: string | undefined

const VERSION = typeof __MMAPFILE_VERSION__ === 'string' ? __MMAPFILE_VERSION__ : 'source'
const KEY = Symbol.for(`mmapfile@${VERSION}`)

type Shelf = Map<string, unknown>

function shelf(): Shelf {
  const holder = globalThis as { [KEY]?: Shelf }
  let found = holder[KEY]
  if (found === undefined) {
    found = new Map()
    Object.defineProperty(globalThis, KEY, { value: found, enumerable: false, configurable: false, writable: false })
  }
  return found
}

/** The realm's one `name`, made by `make` the first time it is asked for; a `make` that throws makes nothing. */
export function shared<T>(name: string, make: () => T): T {
  const all = shelf()
  if (!all.has(name)) all.set(name, make())
  return all.get(name) as T
}
