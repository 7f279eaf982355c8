// The live file mappings of the WebAssembly backend in this process (one table per backend, and one
// backend per process: see src/front/shared.ts), by file identity: the device and inode number the WASI
// host reports, so that hard links and /proc/self/fd paths are one file, as they are on native.
//
// Two rules read it. EBUSY: no call cuts a file under another live mapping of it (create over it, a
// resize below another window's end); native keeps the same rule in native/registry.c, where a cut
// would kill the process. Coherence: a write-back of one 'rw' mapping is carried over to the other
// 'rw' mappings of the file whose windows overlap what was written, and to the 'r' mappings that
// follow the file (src/wasm/backend.ts, writeBack).

/** What the table needs of a mapping: its window, and whether it writes back. */
export interface FileWindow {
  readonly offset: number
  /** 0 while it maps nothing; such a mapping cuts nothing and is cut by nothing */
  readonly length: number
  /** 'rw' (and create) mappings write back and receive other mappings' write-backs */
  readonly writes: boolean
  /** receives other mappings' write-backs: the writers, and 'r' mappings that follow the file */
  readonly receives: boolean
}

export class FileTable<W extends FileWindow> {
  readonly #files = new Map<string, Set<W>>()

  /** The key of a file: its device and inode number, as WASI's filestat gives them (u64s as u32 halves, low first). */
  static keyOf(devLow: number, devHigh: number, inoLow: number, inoHigh: number): string {
    return `${devHigh}.${devLow}:${inoHigh}.${inoLow}`
  }

  add(key: string, mapping: W): void {
    let mappings = this.#files.get(key)
    if (mappings === undefined) this.#files.set(key, (mappings = new Set()))
    mappings.add(mapping)
  }

  remove(key: string, mapping: W): void {
    const mappings = this.#files.get(key)
    if (mappings === undefined) return
    mappings.delete(mapping)
    if (mappings.size === 0) this.#files.delete(key)
  }

  /** The largest window end among the live non-empty mappings of the file other than `except`; 0 if none. */
  end(key: string, except?: W): number {
    let end = 0
    for (const other of this.#files.get(key) ?? []) {
      if (other !== except && other.length > 0) end = Math.max(end, other.offset + other.length)
    }
    return end
  }

  /** The other mappings of the file that receive write-backs and whose windows overlap [start, end) (file offsets). */
  receiversOver(key: string, except: W, start: number, end: number): W[] {
    const found: W[] = []
    for (const other of this.#files.get(key) ?? []) {
      if (
        other !== except &&
        other.receives &&
        other.length > 0 &&
        other.offset < end &&
        other.offset + other.length > start
      ) {
        found.push(other)
      }
    }
    return found
  }

  /** Every live writing mapping, in the order they were made (for the write-back at exit). */
  *writers(): IterableIterator<W> {
    for (const mappings of this.#files.values()) {
      for (const mapping of mappings) if (mapping.writes) yield mapping
    }
  }
}
