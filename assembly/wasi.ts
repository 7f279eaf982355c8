// The WASI preview1 functions the module calls, and nothing else: any correct WASI host runs it.
// The module expects the root directory '/' preopened as fd 3 (the first preopen, as hosts number them).

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "path_open")
export declare function path_open(dirfd: u32, dirflags: u32, path: usize, pathLen: usize, oflags: u16,
  rightsBase: u64, rightsInheriting: u64, fdflags: u16, fdOut: usize): u16

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "path_unlink_file")
export declare function path_unlink_file(dirfd: u32, path: usize, pathLen: usize): u16

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_pread")
export declare function fd_pread(fd: u32, iovs: usize, iovsLen: usize, offset: u64, nread: usize): u16

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_pwrite")
export declare function fd_pwrite(fd: u32, iovs: usize, iovsLen: usize, offset: u64, nwritten: usize): u16

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_sync")
export declare function fd_sync(fd: u32): u16

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_filestat_get")
export declare function fd_filestat_get(fd: u32, buf: usize): u16

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_filestat_set_size")
export declare function fd_filestat_set_size(fd: u32, size: u64): u16

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_close")
export declare function fd_close(fd: u32): u16

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
export declare function random_get(buf: usize, len: usize): u16

/** The preopened root directory. */
export const ROOT_FD: u32 = 3

export const LOOKUP_SYMLINK_FOLLOW: u32 = 1
export const O_CREAT: u16 = 1
export const O_EXCL: u16 = 4

export const RIGHT_FD_DATASYNC: u64 = 1
export const RIGHT_FD_READ: u64 = 2
export const RIGHT_FD_SEEK: u64 = 4
export const RIGHT_FD_SYNC: u64 = 16
export const RIGHT_FD_WRITE: u64 = 64
export const RIGHT_FD_FILESTAT_GET: u64 = 2097152
export const RIGHT_FD_FILESTAT_SET_SIZE: u64 = 4194304

export const FDFLAGS_NONBLOCK: u16 = 4

export const FILETYPE_DIRECTORY: u8 = 3
export const FILETYPE_REGULAR_FILE: u8 = 4

export const ERRNO_IO: i32 = 29
export const ERRNO_ISDIR: i32 = 31
export const ERRNO_NAMETOOLONG: i32 = 37
export const ERRNO_NODEV: i32 = 43
export const ERRNO_NOMEM: i32 = 48
