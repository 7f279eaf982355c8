// mmapfile's WebAssembly module: one instance emulates one mapping of a file window in its own
// linear memory, through WASI preview1 only (see wasi.ts). The JavaScript side (src/wasm-backend.ts)
// instantiates it per mapping and reads the exports below; every export returns a negative WASI errno
// on failure (and last_syscall() names the step that failed) instead of throwing.
//
// Memory layout (bytes):
//   [0, 65536)                     page 0: static data (path buffer, I/O vectors, scratch)
//   [KEY1, KEY1 + 65536)           the fingerprint keys (hash.ts), only for tracked mappings
//   [KEY2, KEY2 + 65536)
//   [WINDOW, WINDOW + length)      the mapped bytes; 64 KiB-aligned, so any element type is aligned
//   [fingerprints, + 16 per chunk) right after the window (16-aligned), only for tracked mappings
// Memory is grown once per map() or resize(), never otherwise, so a view over it stays attached.
//
// The view's buffer is this whole memory, so JavaScript can write anywhere in it, not only in the
// window. What the module trusts from one call to the next lives in globals (fd, window offset and
// length, where the fingerprints are, how many key bytes are drawn), except the keys and the
// fingerprints: those are checked against a digest kept in globals (see trustState) before flush or
// resize relies on them. Page 0 is scratch, written before it is read within each call.
//
// Chunks are CHUNK bytes aligned to file offsets: the first and last chunk of an unaligned window are
// partial. A tracked ('rw') mapping remembers a fingerprint per chunk and writes back only the chunks
// whose fingerprint changed, merging neighbours into one fd_pwrite.

import {
  path_open, path_unlink_file, fd_pread, fd_pwrite, fd_sync, fd_filestat_get, fd_filestat_set_size,
  fd_close, random_get, ROOT_FD, LOOKUP_SYMLINK_FOLLOW, O_CREAT, O_EXCL, RIGHT_FD_DATASYNC,
  RIGHT_FD_READ, RIGHT_FD_SEEK, RIGHT_FD_SYNC, RIGHT_FD_WRITE, RIGHT_FD_FILESTAT_GET,
  RIGHT_FD_FILESTAT_SET_SIZE, FILETYPE_DIRECTORY, FILETYPE_REGULAR_FILE, FDFLAGS_NONBLOCK, ERRNO_IO, ERRNO_NODEV, ERRNO_ISDIR,
  ERRNO_NAMETOOLONG, ERRNO_NOMEM
} from './wasi'
import { CHUNK, FP_BYTES, KEY1, KEY2, digestRound, hashChunk, hashTwoChunks, hashZeros, sameFingerprint } from './hash'

const PAGE: usize = 65536
/** Where the mapped bytes start. */
const WINDOW: usize = 196608
/** The largest window: what is left of 4 GiB after the module's pages and the fingerprints. */
const MAX_WINDOW: usize = 4293656576
/** Bytes read per fd_pread while tracking: small enough that hashing what was just read hits the cache. */
const READ_BLOCK: usize = 1048576
/** Bytes read per fd_pread otherwise. */
const READ_BLOCK_UNTRACKED: usize = 67108864
/** Chunks hashed per batch when looking for changes. */
const BATCH: usize = 16
/** Most chunks merged into one fd_pwrite. */
const RUN_MAX: usize = 256
/** The host gets at most this many bytes per call (WASI sizes are u32; Node caps I/O at 2 GiB). */
const IO_MAX: usize = 1073741824

const PATH_BYTES: usize = 4096
const PATH: usize = memory.data(<i32>PATH_BYTES, 16)
const IOV: usize = memory.data(8, 8)
const RESULT: usize = memory.data(8, 8)
const FILESTAT: usize = memory.data(64, 8)
const BATCH_FPS: usize = memory.data(<i32>(BATCH * FP_BYTES), 16)
const RUN_FPS: usize = memory.data(<i32>(RUN_MAX * FP_BYTES), 16)
const SEEDS: usize = memory.data(32, 8)

// Which step failed last, for the error's `syscall` (src/wasm-backend.ts names them).
const OP_OPEN: i32 = 1
const OP_READ: i32 = 2
const OP_WRITE: i32 = 3
const OP_FSYNC: i32 = 4
const OP_FTRUNCATE: i32 = 5
const OP_FSTAT: i32 = 6
const OP_CLOSE: i32 = 7
const OP_UNLINK: i32 = 8
const OP_RANDOM: i32 = 9
const OP_MMAP: i32 = 10

// What the module opens and how: open_path's `how`.
const HOW_READ: u32 = 0
const HOW_READ_WRITE: u32 = 1
const HOW_CREATE_NEW: u32 = 2
const HOW_CREATE_OR_OPEN: u32 = 3

// map()'s flags.
const MAP_READ: u32 = 1
const MAP_TRACK: u32 = 2
const MAP_UNSYNCED: u32 = 4

let lastOp: i32 = 0
let mapFd: i32 = -1
let mapOffset: u64 = 0
let mapLength: usize = 0
let tracked: bool = false
/** Whether the file has changes of ours (bytes or size) that no fd_sync has made durable yet. */
let unsynced: bool = false
let keyBytes: usize = 0
let fps: usize = WINDOW
let written: f64 = 0
let readBytes: f64 = 0
let runFirst: usize = 0
let runCount: usize = 0
/** Whether writeRun adopted new fingerprints since this was last cleared (the state must be sealed again). */
let adopted: bool = false
// The digest's random seeds and the digest of the state as the module last left it (see trustState).
let seed0: u64 = 0
let seed1: u64 = 0
let seed2: u64 = 0
let seed3: u64 = 0
let sealed0: u64 = 0
let sealed1: u64 = 0
let sealed2: u64 = 0
let sealed3: u64 = 0

/** errno as the negative result, remembering which step failed. */
function fail(op: i32, errno: i32): i32 {
  lastOp = op
  return -errno
}

// @ts-ignore: decorator
@inline function min(a: u64, b: u64): u64 { return a < b ? a : b }
// @ts-ignore: decorator
@inline function max(a: u64, b: u64): u64 { return a > b ? a : b }

/** Chunks covering a window of `length` bytes at file offset `offset`. */
function chunkCount(offset: u64, length: usize): usize {
  if (length == 0) return 0
  return <usize>((offset + length - 1) / CHUNK - offset / CHUNK + 1)
}

/** Bytes of memory a mapping of `length` bytes needs (with fingerprints when tracked). */
function bytesNeeded(offset: u64, length: usize, track: bool): u64 {
  let end = <u64>WINDOW + length
  if (track) end = ((end + 15) & ~15) + <u64>chunkCount(offset, length) * FP_BYTES
  return end
}

/** Grows memory once so that `bytes` fit; false if the runtime refuses. */
function ensureMemory(bytes: u64): bool {
  const pages = <i32>((bytes + PAGE - 1) / PAGE)
  const have = memory.size()
  if (pages <= have) return true
  return memory.grow(pages - have) >= 0
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

/** Fills key bytes [from, to) of both keys with random bytes; 0 or -errno. */
function fillKeys(to: usize): i32 {
  if (to <= keyBytes) return 0
  let err = random_get(KEY1 + keyBytes, to - keyBytes)
  if (err == 0) err = random_get(KEY2 + keyBytes, to - keyBytes)
  if (err != 0) return fail(OP_RANDOM, err)
  keyBytes = to
  return 0
}

/** Key bytes a window of `length` bytes needs: its longest chunk, rounded up to 32. */
function keyBytesFor(length: usize): usize {
  const longest = length < CHUNK ? length : CHUNK
  return (longest + 31) & ~(<usize>31)
}

/** Reads `n` bytes at file offset `at` to memory p; bytes read (short at end of file) or -errno. */
function readFully(p: usize, n: usize, at: u64): i64 {
  let done: usize = 0
  while (done < n) {
    const ask = n - done < IO_MAX ? n - done : IO_MAX
    store<u32>(IOV, p + done)
    store<u32>(IOV, ask, 4)
    const err = fd_pread(mapFd, IOV, 1, at + done, RESULT)
    if (err != 0) return fail(OP_READ, err)
    const got = load<u32>(RESULT)
    if (got == 0) break
    done += got
  }
  readBytes += <f64>done
  return done
}

/** Writes `n` bytes from memory p at file offset `at`; 0 or -errno. */
function writeFully(p: usize, n: usize, at: u64): i32 {
  let done: usize = 0
  while (done < n) {
    const ask = n - done < IO_MAX ? n - done : IO_MAX
    store<u32>(IOV, p + done)
    store<u32>(IOV, ask, 4)
    const err = fd_pwrite(mapFd, IOV, 1, at + done, RESULT)
    if (err != 0) return fail(OP_WRITE, err)
    const put = load<u32>(RESULT)
    if (put == 0) return fail(OP_WRITE, ERRNO_IO)
    done += put
  }
  written += <f64>n
  unsynced = true
  return 0
}

/** Writes the pending run of changed chunks and adopts their new fingerprints; 0 or -errno. */
function writeRun(): i32 {
  if (runCount == 0) return 0
  const s = chunkStart(runFirst)
  const e = chunkEnd(runFirst + runCount - 1)
  const err = writeFully(addressOf(s), <usize>(e - s), s)
  if (err < 0) return err
  memory.copy(fps + runFirst * FP_BYTES, RUN_FPS, runCount * FP_BYTES)
  runCount = 0
  adopted = true
  return 0
}

/** Digest of the state in memory that flush and resize trust: both keys (keyBytes each) and the
 *  fingerprints of the window's chunks. With `seal`, stores it as the state's digest and returns true;
 *  otherwise returns whether it is the stored one. About 200 KiB for a 256 MiB window. */
function digestState(seal: bool): bool {
  let a = seed0
  let b = seed1
  let c = seed2
  let d = seed3
  for (let r = 0; r < 3; r++) {
    const p: usize = r == 0 ? KEY1 : r == 1 ? KEY2 : fps
    // Multiples of 32 (keys) and of 16 (fingerprints).
    const n: usize = r < 2 ? keyBytes : chunkCount(mapOffset, mapLength) * FP_BYTES
    let i: usize = 0
    for (; i + 32 <= n; i += 32) {
      a = digestRound(a, load<u64>(p + i))
      b = digestRound(b, load<u64>(p + i, 8))
      c = digestRound(c, load<u64>(p + i, 16))
      d = digestRound(d, load<u64>(p + i, 24))
    }
    if (i < n) {
      a = digestRound(a, load<u64>(p + i))
      b = digestRound(b, load<u64>(p + i, 8))
    }
  }
  if (seal) {
    sealed0 = a
    sealed1 = b
    sealed2 = c
    sealed3 = d
    return true
  }
  return a == sealed0 && b == sealed1 && c == sealed2 && d == sealed3
}

/** Checks the keys and fingerprints of a tracked mapping against their digest. 0: intact. Otherwise
 *  something wrote over them (JavaScript can: they share the view's buffer, e.g. through
 *  `new Uint8Array(view.buffer).fill(0)`), and no chunk can be known unchanged: writes the whole window
 *  back, draws new keys, fingerprints the window anew and seals that, so the next flush is incremental
 *  again; returns 1. The whole window, not only a range being synced: the fingerprints of chunks
 *  outside it are as lost, and taking their current bytes for written would lose their changes.
 *  -errno if that fails, with the digest left unmatched, so the next flush or resize does it again. */
function trustState(): i32 {
  if (digestState(false)) return 0
  if (mapLength > 0) {
    const err = writeFully(WINDOW, mapLength, mapOffset)
    if (err < 0) return err
  }
  keyBytes = 0
  const err = fillKeys(keyBytesFor(mapLength))
  if (err < 0) return err
  hashChunks(0, chunkCount(mapOffset, mapLength), fps)
  digestState(true)
  return 1
}

/** Writes back the changed chunks that meet window bytes [start, end) (0 < end <= mapLength); 0 or
 *  -errno. Chunks written get their new fingerprints (and `adopted` is set); on failure the chunks not
 *  yet written keep their old ones, so a later flush retries them. */
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
      const got = readFully(addressOf(at), <usize>(next - at), at)
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

/** Address of the buffer (4096 bytes) where the caller writes a UTF-8 path before open_path or unlink_path. */
export function path_buffer(): usize {
  return PATH
}

/** Skips the leading slashes of the path in the path buffer: the rest is relative to the root preopen. */
function relativePath(length: usize): usize {
  let skip: usize = 0
  while (skip < length && load<u8>(PATH + skip) == 0x2f) skip++
  return skip
}

/** Opens the absolute path (pathLength bytes in the path buffer): `how` 0 read, 1 read-write,
 *  2 create a new file (fails if it exists), 3 create or open (never truncates: the caller sizes the
 *  file once everything else has worked); returns the fd or -errno. */
export function open_path(pathLength: usize, how: u32): i32 {
  if (pathLength > PATH_BYTES) return fail(OP_OPEN, ERRNO_NAMETOOLONG)
  let skip = relativePath(pathLength)
  let length = pathLength - skip
  if (length == 0) {
    store<u8>(PATH, 0x2e)
    skip = 0
    length = 1
  }
  let rights = RIGHT_FD_READ | RIGHT_FD_SEEK | RIGHT_FD_FILESTAT_GET | RIGHT_FD_SYNC | RIGHT_FD_DATASYNC
  if (how != HOW_READ) rights |= RIGHT_FD_WRITE | RIGHT_FD_FILESTAT_SET_SIZE
  let oflags: u16 = 0
  if (how == HOW_CREATE_NEW) oflags = O_CREAT | O_EXCL
  else if (how == HOW_CREATE_OR_OPEN) oflags = O_CREAT
  // Non-blocking, so that opening a FIFO does not wait for a writer (file_size then refuses it).
  const err = path_open(ROOT_FD, LOOKUP_SYMLINK_FOLLOW, PATH + skip, length, oflags, rights, 0, FDFLAGS_NONBLOCK, RESULT)
  if (err != 0) return fail(OP_OPEN, err)
  return load<i32>(RESULT)
}

/** Removes the file at the absolute path in the path buffer; 0 or -errno. */
export function unlink_path(pathLength: usize): i32 {
  if (pathLength > PATH_BYTES) return fail(OP_UNLINK, ERRNO_NAMETOOLONG)
  const skip = relativePath(pathLength)
  const err = path_unlink_file(ROOT_FD, PATH + skip, pathLength - skip)
  return err != 0 ? fail(OP_UNLINK, err) : 0
}

/** The size in bytes of the file open as fd, or -errno (-EISDIR for a directory, -ENODEV for what is not a file). */
export function file_size(fd: i32): f64 {
  const err = fd_filestat_get(fd, FILESTAT)
  if (err != 0) return fail(OP_FSTAT, err)
  const type = load<u8>(FILESTAT, 16)
  if (type == FILETYPE_DIRECTORY) return fail(OP_OPEN, ERRNO_ISDIR)
  // Only regular files have bytes to map (mmap(2) fails the same way on a pipe or a socket).
  if (type != FILETYPE_REGULAR_FILE) return fail(OP_MMAP, ERRNO_NODEV)
  return <f64>load<u64>(FILESTAT, 32)
}

/** Sets the size of the file open as fd (zeros when it grows); 0 or -errno. */
export function set_file_size(fd: i32, size: f64): i32 {
  const err = fd_filestat_set_size(fd, <u64>size)
  return err != 0 ? fail(OP_FTRUNCATE, err) : 0
}

/** Makes the file open as fd durable; 0 or -errno. */
export function sync_fd(fd: i32): i32 {
  const err = fd_sync(fd)
  return err != 0 ? fail(OP_FSYNC, err) : 0
}

/** Closes fd; 0 or -errno. */
export function close_fd(fd: i32): i32 {
  const err = fd_close(fd)
  return err != 0 ? fail(OP_CLOSE, err) : 0
}

/** Sets this instance up as the mapping of `length` bytes at file `offset` of fd (-1 for memory with
 *  no file): grows memory once, then with flags & 1 reads the window, with flags & 2 fingerprints it
 *  (the bytes read, or zeros); flags & 4 says the file was just created or sized, so that the next
 *  durable flush syncs it even if no chunk changed. Returns the window's address or -errno. */
export function map(fd: i32, offset: f64, length: usize, flags: u32): i32 {
  if (length > MAX_WINDOW) return fail(OP_MMAP, ERRNO_NOMEM)
  mapFd = fd
  mapOffset = <u64>offset
  mapLength = length
  tracked = (flags & MAP_TRACK) != 0
  unsynced = (flags & MAP_UNSYNCED) != 0
  fps = (WINDOW + length + 15) & ~(<usize>15)
  if (!ensureMemory(bytesNeeded(mapOffset, length, tracked))) return fail(OP_MMAP, ERRNO_NOMEM)
  if (tracked) {
    const errno = random_get(SEEDS, 32)
    if (errno != 0) return fail(OP_RANDOM, errno)
    seed0 = load<u64>(SEEDS)
    seed1 = load<u64>(SEEDS, 8)
    seed2 = load<u64>(SEEDS, 16)
    seed3 = load<u64>(SEEDS, 24)
    const err = fillKeys(keyBytesFor(length))
    if (err < 0) return err
  }
  if ((flags & MAP_READ) != 0) {
    const err = readWindow()
    if (err < 0) return err
  } else if (tracked) {
    zeroFingerprints(0)
  }
  if (tracked) digestState(true)
  // An untracked file mapping ('r') never writes: it needs the fd no more (the caller closes it).
  if (!tracked) mapFd = -1
  return <i32>WINDOW
}

/** Writes back the changed chunks that meet window bytes [start, end), then with `durable` makes the
 *  file durable (fd_sync, skipped when nothing of ours is left unsynced); 0 or -errno. Chunks written
 *  get their new fingerprints; on failure the chunks not yet written keep their old ones, so a later
 *  flush retries them. If the keys or fingerprints were written over, writes the whole window back
 *  (trustState). */
export function flush(start: usize, end: usize, durable: u32): i32 {
  if (mapFd < 0) return 0
  if (tracked && start < end && end <= mapLength) {
    const trusted = trustState()
    if (trusted < 0) return trusted
    if (trusted == 0) {
      adopted = false
      const err = writeChanged(start, end)
      if (adopted) digestState(true)
      if (err < 0) return err
    }
  }
  if (durable == 0 || !unsynced) return 0
  const err = sync_fd(mapFd)
  if (err == 0) unsynced = false
  return err
}

/** Resizes the window to `length` bytes: the file to offset + length (for a file), memory grown once
 *  if needed, growth zero-filled in memory and in the file (a window that ended before the end of the
 *  file does not show the file's old bytes there, and neither does the file). Returns 0 or -errno.
 *  On failure the window is as it was (the chunk at the old or new end may have been written back, or
 *  the whole window if its keys or fingerprints had been written over: that is all) and so is the file: it is changed only once memory has room, but for growing past its
 *  end, which is undone if memory cannot grow. Memory that grew stays grown (the caller sees a new
 *  buffer): only a cut failing right after memory grew does that. */
export function resize(length: usize): i32 {
  if (length > MAX_WINDOW) return fail(OP_MMAP, ERRNO_NOMEM)
  if (!tracked) return resizeWindow(length)
  // The fingerprints are carried over and the keys extended: check them first (trustState).
  const trusted = trustState()
  if (trusted < 0) return trusted
  const err = resizeWindow(length)
  digestState(true)
  return err
}

/** resize, once the state is trusted. */
function resizeWindow(length: usize): i32 {
  const old = mapLength
  const common = old < length ? old : length
  if (tracked) {
    // The chunk at the end changes length, so its old fingerprint cannot be carried over: write it
    // back first if it changed, then fingerprint it anew below.
    if (common > 0 && (mapOffset + common) % CHUNK != 0) {
      const err = writeChanged(common - 1, common)
      if (err < 0) return err
    }
    const err = fillKeys(keyBytesFor(length))
    if (err < 0) return err
  }
  // Growing: first what can be undone, the file growing past its end (or failing to: too large, no
  // space), then memory, which detaches the view's buffer and cannot be undone.
  let size: u64 = 0
  let extended = false
  if (mapFd >= 0 && length > old) {
    const got = file_size(mapFd)
    if (got < 0) return <i32>got
    size = <u64>got
    if (mapOffset + length > size) {
      const err = set_file_size(mapFd, <f64>(mapOffset + length))
      if (err < 0) return err
      extended = true
      unsynced = true
    }
  }
  if (!ensureMemory(bytesNeeded(mapOffset, length, tracked))) {
    if (extended) set_file_size(mapFd, <f64>size)
    return fail(OP_MMAP, ERRNO_NOMEM)
  }
  // Cut the file at the window's new end (shrinking, or the same length), or at its old end and then
  // extend it (growing a window that ended before the end of the file: the file then holds zeros
  // there, as the view does, and a zero written there later is not taken for unchanged).
  if (mapFd >= 0 && (length <= old || size > mapOffset + old)) {
    let err = set_file_size(mapFd, <f64>(mapOffset + common))
    if (err == 0 && length > old) err = set_file_size(mapFd, <f64>(mapOffset + length))
    if (err < 0) {
      // Unlikely (the file just took a size): undo what can be; bytes past the window may be gone.
      if (extended) set_file_size(mapFd, <f64>size)
      return err
    }
    unsynced = true
  }
  const newFps = (WINDOW + length + 15) & ~(<usize>15)
  if (tracked) {
    const keep = chunkCount(mapOffset, common)
    memory.copy(newFps, fps, keep * FP_BYTES)
  }
  if (length > old) memory.fill(WINDOW + old, 0, length - old)
  fps = newFps
  mapLength = length
  if (tracked && length > 0) {
    let j = chunkCount(mapOffset, common)
    if (common > 0 && (mapOffset + common) % CHUNK != 0) {
      j -= 1
      const s = chunkStart(j)
      hashChunk(addressOf(s), <usize>(chunkEnd(j) - s), fps + j * FP_BYTES)
      j += 1
    }
    zeroFingerprints(j)
  }
  return 0
}

/** Bytes written by fd_pwrite since the last call (for the backend's stats). */
export function take_bytes_written(): f64 {
  const n = written
  written = 0
  return n
}

/** Bytes read by fd_pread since the last call (for the backend's stats). */
export function take_bytes_read(): f64 {
  const n = readBytes
  readBytes = 0
  return n
}

/** Which step failed last: 1 open, 2 read, 3 write, 4 fsync, 5 ftruncate, 6 fstat, 7 close, 8 unlink,
 *  9 random, 10 mmap (memory could not grow). */
export function last_syscall(): i32 {
  return lastOp
}

/** The largest window in bytes. */
export function max_window(): f64 {
  return <f64>MAX_WINDOW
}
