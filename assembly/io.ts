// The file side of the module: WASI calls on whole byte ranges, with the step that failed remembered
// for last_syscall(), and the exports that the control instance uses to open, size, sync and close
// files and to read or write single chunks (src/wasm/control.ts). Every export returns a negative WASI
// errno on failure.

import {
  path_open,
  path_unlink_file,
  fd_pread,
  fd_pwrite,
  fd_sync,
  fd_filestat_get,
  fd_filestat_set_size,
  fd_close,
  random_get,
  ROOT_FD,
  LOOKUP_SYMLINK_FOLLOW,
  O_CREAT,
  O_EXCL,
  RIGHT_FD_DATASYNC,
  RIGHT_FD_READ,
  RIGHT_FD_SEEK,
  RIGHT_FD_SYNC,
  RIGHT_FD_WRITE,
  RIGHT_FD_FILESTAT_GET,
  RIGHT_FD_FILESTAT_SET_SIZE,
  FILETYPE_DIRECTORY,
  FILETYPE_REGULAR_FILE,
  FDFLAGS_NONBLOCK,
  ERRNO_IO,
  ERRNO_NODEV,
  ERRNO_ISDIR,
  ERRNO_NAMETOOLONG,
  ERRNO_NOMEM
} from './wasi'
import { CHUNK, KEY1, KEY2 } from './hash'
import { PAGE, WINDOW } from './layout'

/** The host gets at most this many bytes per call (WASI sizes are u32; Node caps I/O at 2 GiB). */
const IO_MAX: usize = 1073741824

export const PATH_BYTES: usize = 4096
const PATH: usize = memory.data(<i32>PATH_BYTES, 16)
const IOV: usize = memory.data(8, 8)
const RESULT: usize = memory.data(8, 8)
const FILESTAT: usize = memory.data(64, 8)

// Which step failed last, for the error's `syscall` (src/wasm/backend.ts names them).
export const OP_OPEN: i32 = 1
export const OP_READ: i32 = 2
export const OP_WRITE: i32 = 3
export const OP_FSYNC: i32 = 4
export const OP_FTRUNCATE: i32 = 5
export const OP_FSTAT: i32 = 6
export const OP_CLOSE: i32 = 7
export const OP_UNLINK: i32 = 8
export const OP_RANDOM: i32 = 9
export const OP_MMAP: i32 = 10

// What the module opens and how: open_path's `how`.
export const HOW_READ: u32 = 0
export const HOW_READ_WRITE: u32 = 1
export const HOW_CREATE_NEW: u32 = 2
export const HOW_CREATE_OR_OPEN: u32 = 3

let lastOp: i32 = 0
/** Whether the file has changes of ours (bytes or size) that no fd_sync has made durable yet. */
let unsynced: bool = false
let written: f64 = 0
let readBytes: f64 = 0

/** errno as the negative result, remembering which step failed. */
export function fail(op: i32, errno: i32): i32 {
  lastOp = op
  return -errno
}

/** Grows memory once so that `bytes` fit; false if the runtime refuses. */
export function ensureMemory(bytes: u64): bool {
  const pages = <i32>((bytes + PAGE - 1) / PAGE)
  const have = memory.size()
  if (pages <= have) return true
  return memory.grow(pages - have) >= 0
}

/** Sets whether the mapped file has changes of ours that no fd_sync has made durable yet. */
export function setUnsynced(value: bool): void {
  unsynced = value
}

/** fd_sync of fd if the file has changes of ours not yet durable; 0 or -errno. */
export function syncChanges(fd: i32): i32 {
  if (!unsynced) return 0
  const err = sync_fd(fd)
  if (err == 0) unsynced = false
  return err
}

/** Moves `n` bytes between memory p and fd at file offset `at`, IO_MAX at a time; bytes moved or
 *  -errno. A read stops short at end of file; a write that makes no progress is EIO, not a loop. */
function transfer(writing: bool, fd: i32, p: usize, n: usize, at: u64): i64 {
  const op = writing ? OP_WRITE : OP_READ
  let done: usize = 0
  while (done < n) {
    const ask = n - done < IO_MAX ? n - done : IO_MAX
    store<u32>(IOV, p + done)
    store<u32>(IOV, ask, 4)
    const err = writing ? fd_pwrite(fd, IOV, 1, at + done, RESULT) : fd_pread(fd, IOV, 1, at + done, RESULT)
    if (err != 0) return fail(op, err)
    const moved = load<u32>(RESULT)
    if (moved == 0) {
      if (writing) return fail(op, ERRNO_IO)
      break
    }
    done += moved
    if (writing) unsynced = true
  }
  return done
}

/** Reads `n` bytes of fd at file offset `at` to memory p; bytes read (short at end of file) or -errno. */
export function readFully(fd: i32, p: usize, n: usize, at: u64): i64 {
  const done = transfer(false, fd, p, n, at)
  if (done > 0) readBytes += <f64>done
  return done
}

/** Writes `n` bytes from memory p to fd at file offset `at`; 0 or -errno. */
export function writeFully(fd: i32, p: usize, n: usize, at: u64): i32 {
  const done = transfer(true, fd, p, n, at)
  if (done < 0) return <i32>done
  written += <f64>n
  return 0
}

/** Address of the buffer (4096 bytes) where the caller writes a UTF-8 path before open_path or unlink_path. */
export function path_buffer(): usize {
  return PATH
}

/** Address of the WASI filestat that file_size() filled in last (dev at +0, ino at +8, both u64). */
export function filestat_buffer(): usize {
  return FILESTAT
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
  const err = path_open(
    ROOT_FD,
    LOOKUP_SYMLINK_FOLLOW,
    PATH + skip,
    length,
    oflags,
    rights,
    0,
    FDFLAGS_NONBLOCK,
    RESULT
  )
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

/** The size in bytes of the file open as fd, or -errno (-EISDIR for a directory, -ENODEV for what is
 *  not a file). Leaves the file's whole filestat in filestat_buffer(). */
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

/** Fills both keys (CHUNK bytes each, at KEY1 and KEY2) with random bytes, for the backend to copy
 *  out: called once, on the control instance. 0 or -errno. */
export function draw_keys(): i32 {
  if (!ensureMemory(<u64>WINDOW)) return fail(OP_MMAP, ERRNO_NOMEM)
  let err = random_get(KEY1, CHUNK)
  if (err == 0) err = random_get(KEY2, CHUNK)
  return err != 0 ? fail(OP_RANDOM, err) : 0
}

/** Reads up to `length` <= CHUNK bytes of fd at file `offset` to the window's address, for the
 *  backend to copy out (the control instance: what a chunk held before a write). Bytes read (short at
 *  the end of the file) or -errno. */
export function read_at(fd: i32, offset: f64, length: usize): f64 {
  if (length > CHUNK || !ensureMemory(<u64>WINDOW + CHUNK)) return fail(OP_MMAP, ERRNO_NOMEM)
  return <f64>readFully(fd, WINDOW, length, <u64>offset)
}

/** Writes `length` <= CHUNK bytes from the window's address to fd at file `offset` (the control
 *  instance: puts back what a chunk held after a write of it failed part-way). 0 or -errno. */
export function write_at(fd: i32, offset: f64, length: usize): i32 {
  if (length > CHUNK || !ensureMemory(<u64>WINDOW + CHUNK)) return fail(OP_MMAP, ERRNO_NOMEM)
  return writeFully(fd, WINDOW, length, <u64>offset)
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
