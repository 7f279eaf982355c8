// The contract between the public API (src/front/api.ts) and a backend (src/native/backend.ts, src/wasm/backend.ts).
//
// The front owns every argument check, default and overload, the typed views, the registry of
// open mappings and the error messages. A backend only maps bytes. It receives checked values:
// integers >= 0, an absolute path, a known mode and advice.

export type Advice = 'normal' | 'sequential' | 'random' | 'willneed' | 'dontneed'

/** How a mapping is made, beyond its window. */
export interface MapOptions {
  /**
   * gc*: once nothing refers to the mapped bytes any more (native: the ArrayBuffer every view shares;
   * wasm: the view), the backend writes an 'rw' mapping back durably and releases it. Every mapping
   * dropped without close is released then; an 'rw' one is written back without the durable step.
   */
  readonly autoClose: boolean
  /**
   * 'rw' and create: do not reserve disk blocks for the window (native reserves them, so that a full
   * disk is ENOSPC when the view is made, not SIGBUS when a page is first written). For deliberately
   * sparse files. Ignored where there is nothing to reserve (wasm).
   */
  readonly sparse: boolean
  /**
   * 'r' only: the view takes in the write-backs of this process's 'rw' views of the file (at their
   * sync and close), keeping the bytes it changed itself, as their pages would show through a private
   * mapping (native's 'r' shows the file's pages anyway until it writes one). For mmapfile/mmap-io,
   * whose shared read-only mappings see the writers'. Default false: a wasm 'r' view is a snapshot.
   */
  readonly follow?: boolean
}

export interface Capabilities {
  /** true when every view of a file sees every other view's writes at once */
  readonly coherent: boolean
  /** bytes: the unit in which changes are written back; granules align to file offsets */
  readonly writeBackGranularity: number
  /** bytes: the largest view this runtime can hold */
  readonly maxViewBytes: number
}

/**
 * One live mapping. The mapped bytes are `buffer[byteOffset, byteOffset + byteLength)`.
 * Backends add private fields; the front reads only these three, and reads them again after
 * every call, since `resize` may move the bytes to another buffer.
 */
export interface Mapping {
  readonly buffer: ArrayBuffer
  readonly byteOffset: number
  readonly byteLength: number
}

/**
 * Failures are thrown as errors carrying:
 *  - file-system failures: `code` (e.g. 'ENOENT'), `syscall` (e.g. 'open'), and `message` the bare
 *    description (e.g. 'no such file or directory'); the front adds the function name and the path;
 *  - a window past the end of the file, or a view larger than `capabilities.maxViewBytes`:
 *    a `RangeError` whose message is final.
 * A call that throws leaves nothing behind: no file it created, no mapping, no descriptor.
 */
export interface Backend {
  readonly name: 'native' | 'wasm'
  readonly capabilities: Capabilities
  readonly pageSize: number
  /**
   * Maps `length` bytes of an existing file from byte `offset` (any alignment); `length` null means
   * to the end of the file. An empty window gives an empty mapping without mapping anything.
   * 'r' is private: writes stay in memory. 'rw' is shared with the file.
   */
  open(path: string, mode: 'r' | 'rw', offset: number, length: number | null, options: MapOptions): Mapping
  /**
   * As open, for an open descriptor of the runtime (an integer >= 0) in place of a path. The mapping
   * keeps a descriptor of its own for the file, never `fd`: the caller may close `fd` while the view
   * lives, and a file that later takes its number never receives the view's write-back. The access
   * `fd` was opened with must allow `mode` ('r': read; 'rw': read and write, not append-only): EACCES
   * otherwise; EBADF for what is not an open descriptor; ENOTSUP where the backend cannot reach the
   * file of a descriptor. The checks hold for an empty window too.
   */
  openFd(fd: number, mode: 'r' | 'rw', offset: number, length: number | null, options: MapOptions): Mapping
  /**
   * Creates or truncates `path` to `byteLength` zero bytes and maps it 'rw'. On failure an existing
   * file is as it was, or (once its old bytes were let go) empty, with an error that says so.
   */
  create(path: string, byteLength: number, options: MapOptions): Mapping
  /** Zero-filled memory backed by no file. */
  alloc(byteLength: number, options: MapOptions): Mapping
  /**
   * Writes back ('rw'), makes it durable, releases. Afterwards `buffer` reads as length 0. If writing
   * back fails it throws and keeps the mapping whole, so that close can be retried.
   */
  close(mapping: Mapping): void
  /**
   * Makes `[offset, offset + length)` of the mapping (relative, any alignment) durable in the file; with
   * `durable` false (default true), only visible to every other reader of the file (other processes,
   * plain reads), without waiting for the disk.
   */
  sync(mapping: Mapping, offset: number, length: number, durable?: boolean): void
  /** As sync, off the main thread where the backend can. */
  syncAsync(mapping: Mapping, offset: number, length: number, durable?: boolean): Promise<void>
  /**
   * Resizes a 'rw'/created/alloc mapping to `byteLength` bytes (the file to offset + byteLength),
   * keeping what fits, zero-filling growth. Returns the mapping with its new buffer; the old buffer
   * reads as length 0. If it throws, the mapping is unchanged and still open.
   */
  resize(mapping: Mapping, byteLength: number): Mapping
  /** A hint, for `[offset, offset + length)` of the mapping (default: all of it). Must never change the bytes a view holds. */
  advise(mapping: Mapping, advice: Advice, offset?: number, length?: number): void
  /** Of the pages holding `[offset, offset + length)` of the mapping: [in memory now, all of them]. */
  incore(mapping: Mapping, offset: number, length: number): [number, number]
}
