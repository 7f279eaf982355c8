// mmapfile's WebAssembly module: one instance emulates one mapping of a file window in its own
// linear memory, through WASI preview1 only (see wasi.ts). The JavaScript side (src/wasm/backend.ts)
// instantiates it per mapping and reads the exports below; every export returns a negative WASI errno
// on failure (and last_syscall() names the step that failed) instead of throwing.
//
// Memory layout (bytes):
//   [0, 65536)                     page 0: static data (path buffer, I/O vectors, scratch)
//   [KEY1, KEY1 + 65536)           the fingerprint keys (hash.ts), only for tracked mappings
//   [KEY2, KEY2 + 65536)
//   [WINDOW, WINDOW + length)      the mapped bytes; 64 KiB-aligned, so any element type is aligned
//   [fingerprints, + 16 per chunk) right after the window (16-aligned), only for tracked mappings
// Memory is grown once per reserve() or resize(), never otherwise, so a view over it stays attached.
//
// The view's buffer is this whole memory, so JavaScript can write anywhere in it, not only in the
// window. So the module trusts nothing in memory from one call to the next: the backend keeps the keys
// and the fingerprints outside (in memory no user can reach) and copies them in before each call that
// hashes, and the fingerprints out after it. What the module keeps itself (fd, window offset and
// length, where the fingerprints are) lives in globals. Page 0 is scratch, written before it is read
// within each call.
//
// Chunks are CHUNK bytes aligned to file offsets: the first and last chunk of an unaligned window are
// partial. A tracked ('rw') mapping has a fingerprint per chunk; flush writes back only the chunks
// whose fingerprint changed, merging neighbours into one fd_pwrite. Chunks that another view of the
// same file also maps are written one by one (chunk_changed, write_chunk, rehash_chunk), so that the
// backend can carry the change over to that view.

import { ROOT_FD, ERRNO_NOMEM } from './wasi'
import { CHUNK, FP_BYTES, KEY1, KEY2, hashChunk, hashTwoChunks, hashZeros, sameFingerprint } from './hash'
import { MAX_WINDOW, WINDOW } from './layout'
import {
  HOW_CREATE_NEW, HOW_CREATE_OR_OPEN, HOW_READ, HOW_READ_WRITE, OP_CLOSE, OP_FSTAT, OP_FSYNC, OP_FTRUNCATE, OP_MMAP,
  OP_OPEN, OP_RANDOM, OP_READ, OP_UNLINK, OP_WRITE, PATH_BYTES, ensureMemory, fail, file_size, readFully, set_file_size,
  setUnsynced, syncChanges, writeFully
} from './io'

// What JavaScript reads (src/wasm/module.ts, layoutOf): the layout, open_path's `how`, reserve()'s
// flags and last_syscall()'s numbers are exported as globals, so that nothing mirrors them by hand.
export {
  CHUNK, FP_BYTES, KEY1, KEY2, ROOT_FD, WINDOW, PATH_BYTES, HOW_READ, HOW_READ_WRITE, HOW_CREATE_NEW, HOW_CREATE_OR_OPEN,
  OP_OPEN, OP_READ, OP_WRITE, OP_FSYNC, OP_FTRUNCATE, OP_FSTAT, OP_CLOSE, OP_UNLINK, OP_RANDOM, OP_MMAP
}
// The control instance's exports: files opened, sized, synced, closed; single chunks read and written.
export {
  path_buffer, filestat_buffer, open_path, unlink_path, file_size, set_file_size, sync_fd, close_fd, draw_keys,
  read_at, write_at, take_bytes_written, take_bytes_read, last_syscall
} from './io'

/** Bytes read per fd_pread while tracking: small enough that hashing what was just read hits the cache. */
const READ_BLOCK: usize = 1048576
/** Bytes read per fd_pread otherwise. */
const READ_BLOCK_UNTRACKED: usize = 67108864
/** Chunks hashed per batch when looking for changes. */
const BATCH: usize = 16
/** Most chunks merged into one fd_pwrite. */
const RUN_MAX: usize = 256
const BATCH_FPS: usize = memory.data(<i32>(BATCH * FP_BYTES), 16)
const RUN_FPS: usize = memory.data(<i32>(RUN_MAX * FP_BYTES), 16)

// reserve()'s flags.
export const MAP_READ: u32 = 1
export const MAP_TRACK: u32 = 2
export const MAP_UNSYNCED: u32 = 4

let mapFd: i32 = -1
let mapOffset: u64 = 0
let mapLength: usize = 0
let mapFlags: u32 = 0
let tracked: bool = false
let fps: usize = WINDOW
/** The end of what the mapping of this instance has used of memory since it was last cleared: an
 *  instance is reused for another mapping (src/wasm/backend.ts pools them), which must start from zeros. */
let usedEnd: usize = WINDOW
let runFirst: usize = 0
let runCount: usize = 0

// @ts-ignore: decorator
@inline function min(a: u64, b: u64): u64 { return a < b ? a : b }
// @ts-ignore: decorator
@inline function max(a: u64, b: u64): u64 { return a > b ? a : b }

/** Chunks covering a window of `length` bytes at file offset `offset`. */
function chunkCount(offset: u64, length: usize): usize {
  if (length == 0) return 0
  return <usize>((offset + length - 1) / CHUNK - offset / CHUNK + 1)
}

/** Where the fingerprints of a window of `length` bytes start. */
function fingerprintsAt(length: usize): usize {
  return (WINDOW + length + 15) & ~(<usize>15)
}

/** Bytes of memory a mapping of `length` bytes needs (with fingerprints when tracked). */
function bytesNeeded(offset: u64, length: usize, track: bool): u64 {
  if (!track) return <u64>WINDOW + length
  return <u64>fingerprintsAt(length) + <u64>chunkCount(offset, length) * FP_BYTES
}

/** File offset where chunk j of the window starts (the window's start for j = 0). */
function chunkStart(j: usize): u64 {
  return max(mapOffset, (mapOffset / CHUNK + j) * CHUNK)
}

/** File offset where chunk j of the window ends. */
function chunkEnd(j: usize): u64 {
  return min(mapOffset + mapLength, (mapOffset / CHUNK + j + 1) * CHUNK)
}

/** Memory address of file offset `at` inside the window. */
// @ts-ignore: decorator
@inline function addressOf(at: u64): usize { return WINDOW + <usize>(at - mapOffset) }

/** Fingerprints of chunks [j, j + n) of the window, to out. */
function hashChunks(j: usize, n: usize, out: usize): void {
  let i: usize = 0
  while (i < n) {
    const s = chunkStart(j + i)
    const e = chunkEnd(j + i)
    if (i + 1 < n && e - s == CHUNK && chunkEnd(j + i + 1) - e == CHUNK) {
      hashTwoChunks(addressOf(s), out + i * FP_BYTES)
      i += 2
    } else {
      hashChunk(addressOf(s), <usize>(e - s), out + i * FP_BYTES)
      i += 1
    }
  }
}

/** Writes the pending run of changed chunks and adopts their new fingerprints; 0 or -errno. */
function writeRun(): i32 {
  if (runCount == 0) return 0
  const s = chunkStart(runFirst)
  const e = chunkEnd(runFirst + runCount - 1)
  const err = writeFully(mapFd, addressOf(s), <usize>(e - s), s)
  if (err < 0) return err
  memory.copy(fps + runFirst * FP_BYTES, RUN_FPS, runCount * FP_BYTES)
  runCount = 0
  return 0
}

/** Writes back the changed chunks that meet window bytes [start, end) (0 < end <= mapLength); 0 or
 *  -errno. Chunks written get their new fingerprints; on failure the chunks not yet written keep their
 *  old ones, so a later flush retries them. */
function writeChanged(start: usize, end: usize): i32 {
  const base = mapOffset / CHUNK
  let j = <usize>((mapOffset + start) / CHUNK - base)
  const last = <usize>((mapOffset + end - 1) / CHUNK - base)
  runCount = 0
  while (j <= last) {
    const n = last - j + 1 < BATCH ? last - j + 1 : BATCH
    hashChunks(j, n, BATCH_FPS)
    for (let i: usize = 0; i < n; i++) {
      const now = BATCH_FPS + i * FP_BYTES
      if (sameFingerprint(now, fps + (j + i) * FP_BYTES)) {
        const err = writeRun()
        if (err < 0) return err
        continue
      }
      if (runCount == 0) runFirst = j + i
      memory.copy(RUN_FPS + runCount * FP_BYTES, now, FP_BYTES)
      runCount++
      if (runCount == RUN_MAX) {
        const err = writeRun()
        if (err < 0) return err
      }
    }
    j += n
  }
  return writeRun()
}

/** Reads the window in blocks, fingerprinting each block right after reading it; 0 or -errno. */
function readWindow(): i32 {
  const end = mapOffset + mapLength
  const block: u64 = tracked ? READ_BLOCK : READ_BLOCK_UNTRACKED
  let at = mapOffset
  let atEnd = false
  let j: usize = 0
  while (at < end) {
    const next = min(end, (at / CHUNK) * CHUNK + block)
    if (!atEnd) {
      const got = readFully(mapFd, addressOf(at), <usize>(next - at), at)
      if (got < 0) return <i32>got
      // The file ended early (it shrank since fstat): the rest of the window stays zero.
      if (<u64>got < next - at) atEnd = true
    }
    if (tracked) {
      const n = chunkCount(mapOffset, <usize>(next - mapOffset)) - j
      hashChunks(j, n, fps + j * FP_BYTES)
      j += n
    }
    at = next
  }
  return 0
}

/** Fingerprints for chunks [j, end) of a window that holds zeros there (file and memory alike). */
function zeroFingerprints(j: usize): void {
  const n = chunkCount(mapOffset, mapLength)
  let full = false
  for (; j < n; j++) {
    const s = chunkStart(j)
    const len = <usize>(chunkEnd(j) - s)
    const out = fps + j * FP_BYTES
    if (len == CHUNK && full) {
      memory.copy(out, out - FP_BYTES, FP_BYTES)
    } else {
      hashZeros(len, out)
      full = len == CHUNK
    }
  }
}

/** Sets this instance up as the mapping of `length` bytes at file `offset` of fd (-1 for memory with
 *  no file) and grows memory for it, once. flags & 1: fill_window() reads the window; flags & 2: the mapping
 *  is tracked (fingerprints; the caller copies the keys in before fill_window()); flags & 4: the file was just
 *  created or sized, so that the next durable flush syncs it even if no chunk changed. Returns the
 *  window's address or -errno. */
export function reserve(fd: i32, offset: f64, length: usize, flags: u32): i32 {
  if (length > MAX_WINDOW) return fail(OP_MMAP, ERRNO_NOMEM)
  mapFd = fd
  mapOffset = <u64>offset
  mapLength = length
  mapFlags = flags
  tracked = (flags & MAP_TRACK) != 0
  setUnsynced((flags & MAP_UNSYNCED) != 0)
  fps = fingerprintsAt(length)
  const end = bytesNeeded(mapOffset, length, tracked)
  const had = <u64>memory.size() << 16
  if (!ensureMemory(end)) return fail(OP_MMAP, ERRNO_NOMEM)
  // A reused instance: nothing of the last mapping may show (short reads and create rely on zeros).
  // Its view's buffer was the whole memory, so bytes may have been written past its end too: what the
  // new window and the last mapping cover is cleared, up to the memory it had (grown pages are zero).
  const clearTo = min(max(<u64>usedEnd, end), had)
  if (clearTo > <u64>WINDOW) memory.fill(WINDOW, 0, <usize>clearTo - WINDOW)
  usedEnd = <usize>end
  return <i32>WINDOW
}

/** Fills the reserved window: reads it (flags & 1) and fingerprints it (the bytes read, or zeros)
 *  into fingerprints_address(). 0 or -errno. */
export function fill_window(): i32 {
  if ((mapFlags & MAP_READ) != 0) {
    const err = readWindow()
    if (err < 0) return err
  } else if (tracked) {
    zeroFingerprints(0)
  }
  // An untracked file mapping ('r') never writes: it needs the fd no more (the caller closes it).
  if (!tracked) mapFd = -1
  return 0
}

/** Where the fingerprints are now (16 bytes per chunk of the window). */
export function fingerprints_address(): usize {
  return fps
}

/** Writes back the changed chunks that meet window bytes [start, end), then with `durable` makes the
 *  file durable (fd_sync, skipped when nothing of ours is left unsynced); 0 or -errno. Chunks written
 *  get their new fingerprints; on failure the chunks not yet written keep their old ones, so a later
 *  flush retries them. An empty range only syncs. */
export function flush(start: usize, end: usize, durable: u32): i32 {
  if (mapFd < 0) return 0
  if (tracked && start < end && end <= mapLength) {
    const err = writeChanged(start, end)
    if (err < 0) return err
  }
  return durable == 0 ? 0 : syncChanges(mapFd)
}

/** 1 if chunk j of the window differs from its fingerprint, 0 if not. */
export function chunk_changed(j: usize): i32 {
  hashChunks(j, 1, BATCH_FPS)
  return sameFingerprint(BATCH_FPS, fps + j * FP_BYTES) ? 0 : 1
}

/** Fingerprints chunk j of the window anew (its bytes are what the file holds now). */
export function rehash_chunk(j: usize): void {
  hashChunks(j, 1, fps + j * FP_BYTES)
}

/** Writes chunk j of the window to the file and adopts its fingerprint; 0 or -errno. */
export function write_chunk(j: usize): i32 {
  hashChunks(j, 1, RUN_FPS)
  runFirst = j
  runCount = 1
  return writeRun()
}

/** resize's first step: sets the file to `end` bytes, growing it (EFBIG, EDQUOT fail here) or cutting
 *  what is past the new window end (EPERM on a sealed file fails here). 0, or -errno with the file as
 *  it was. */
function resizeFile(size: u64, end: u64): i32 {
  if (end == size) return 0
  const err = set_file_size(mapFd, <f64>end)
  if (err < 0) return err
  setUnsynced(true)
  return 0
}

/** resize's last step, for a window that ended before the end of the file (`size` bytes before): the
 *  file holds old bytes in [keep, min(size, end)) where the view now has zeros. They are written over
 *  with those zeros, which needs nothing of the file but writes (a cut and a regrowth would need it
 *  to grow, and lose its bytes where it may not). Where a write fails, the chunks not written are
 *  marked changed, so that the next write-back writes them (or reports why it cannot). */
function zeroPastOldEnd(size: u64, keep: u64, end: u64): void {
  const upto = min(size, end)
  if (upto <= keep) return
  if (writeFully(mapFd, addressOf(keep), <usize>(upto - keep), keep) == 0 || !tracked) return
  const base = mapOffset / CHUNK
  const last = <usize>((upto - 1) / CHUNK - base)
  for (let j = <usize>(keep / CHUNK - base); j <= last; j++) {
    // Any value but the chunk's own fingerprint: one bit flipped.
    store<u8>(fps + j * FP_BYTES, load<u8>(fps + j * FP_BYTES) ^ 1)
  }
}

/** Resizes the window to `length` bytes: the file first (resizeFile: what may fail for want of room
 *  or permission fails while nothing else has changed), then memory (growing it detaches the view's
 *  buffer, which cannot be undone; if it is refused, the file's size is put back), then zero-fills
 *  growth in memory and in the file (zeroPastOldEnd) and fingerprints the chunk at the new end anew.
 *  The caller writes that chunk back first if it changed, and copies the keys (for the longer of the
 *  two windows) and the fingerprints in. 0 or -errno; on failure memory is untouched and the window as
 *  it was; so is the file, but for bytes past the new window end when a window that did not reach the
 *  end of the file grows and memory is then refused (they were to go anyway). */
export function resize(length: usize): i32 {
  if (length > MAX_WINDOW) return fail(OP_MMAP, ERRNO_NOMEM)
  const old = mapLength
  const common = old < length ? old : length
  const keep = mapOffset + common
  const end = mapOffset + length
  let size: u64 = 0
  if (mapFd >= 0) {
    const got = file_size(mapFd)
    if (got < 0) return <i32>got
    size = <u64>got
    const err = resizeFile(size, end)
    if (err < 0) return err
  }
  if (!ensureMemory(bytesNeeded(mapOffset, length, tracked))) {
    if (mapFd >= 0 && end > size) set_file_size(mapFd, <f64>size)
    return fail(OP_MMAP, ERRNO_NOMEM)
  }
  const newFps = fingerprintsAt(length)
  if (tracked) memory.copy(newFps, fps, chunkCount(mapOffset, common) * FP_BYTES)
  if (length > old) memory.fill(WINDOW + old, 0, length - old)
  const used = <usize>bytesNeeded(mapOffset, length, tracked)
  if (used > usedEnd) usedEnd = used
  fps = newFps
  mapLength = length
  if (tracked && length > 0) {
    let j = chunkCount(mapOffset, common)
    if (common > 0 && (mapOffset + common) % CHUNK != 0) {
      j -= 1
      rehash_chunk(j)
      j += 1
    }
    zeroFingerprints(j)
  }
  if (mapFd >= 0 && length > old) zeroPastOldEnd(size, keep, end)
  return 0
}

/** The largest window in bytes. */
export function max_window(): f64 {
  return <f64>MAX_WINDOW
}
