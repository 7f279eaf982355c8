// WASI preview1 errno values and the Node-style error codes and descriptions they stand for (libuv's
// wording, as Node prints them). Shared by the Node WASI host (code -> errno) and the backend
// (errno -> Error). No Node imports: this file also runs in pages.

/** [code, description] by WASI errno; index 0 is success. */
const TABLE: ReadonlyArray<readonly [string, string]> = [
  ['ESUCCESS', 'success'],
  ['E2BIG', 'argument list too long'],
  ['EACCES', 'permission denied'],
  ['EADDRINUSE', 'address already in use'],
  ['EADDRNOTAVAIL', 'address not available'],
  ['EAFNOSUPPORT', 'address family not supported'],
  ['EAGAIN', 'resource temporarily unavailable'],
  ['EALREADY', 'connection already in progress'],
  ['EBADF', 'bad file descriptor'],
  ['EBADMSG', 'bad message'],
  ['EBUSY', 'resource busy or locked'],
  ['ECANCELED', 'operation canceled'],
  ['ECHILD', 'no child processes'],
  ['ECONNABORTED', 'software caused connection abort'],
  ['ECONNREFUSED', 'connection refused'],
  ['ECONNRESET', 'connection reset by peer'],
  ['EDEADLK', 'resource deadlock avoided'],
  ['EDESTADDRREQ', 'destination address required'],
  ['EDOM', 'numerical argument out of domain'],
  ['EDQUOT', 'disk quota exceeded'],
  ['EEXIST', 'file already exists'],
  ['EFAULT', 'bad address in system call argument'],
  ['EFBIG', 'file too large'],
  ['EHOSTUNREACH', 'host is unreachable'],
  ['EIDRM', 'identifier removed'],
  ['EILSEQ', 'illegal byte sequence'],
  ['EINPROGRESS', 'operation in progress'],
  ['EINTR', 'interrupted system call'],
  ['EINVAL', 'invalid argument'],
  ['EIO', 'i/o error'],
  ['EISCONN', 'socket is already connected'],
  ['EISDIR', 'illegal operation on a directory'],
  ['ELOOP', 'too many symbolic links encountered'],
  ['EMFILE', 'too many open files'],
  ['EMLINK', 'too many links'],
  ['EMSGSIZE', 'message too long'],
  ['EMULTIHOP', 'multihop attempted'],
  ['ENAMETOOLONG', 'name too long'],
  ['ENETDOWN', 'network is down'],
  ['ENETRESET', 'connection reset by network'],
  ['ENETUNREACH', 'network is unreachable'],
  ['ENFILE', 'file table overflow'],
  ['ENOBUFS', 'no buffer space available'],
  ['ENODEV', 'no such device'],
  ['ENOENT', 'no such file or directory'],
  ['ENOEXEC', 'exec format error'],
  ['ENOLCK', 'no locks available'],
  ['ENOLINK', 'link has been severed'],
  ['ENOMEM', 'not enough memory'],
  ['ENOMSG', 'no message of desired type'],
  ['ENOPROTOOPT', 'protocol not available'],
  ['ENOSPC', 'no space left on device'],
  ['ENOSYS', 'function not implemented'],
  ['ENOTCONN', 'socket is not connected'],
  ['ENOTDIR', 'not a directory'],
  ['ENOTEMPTY', 'directory not empty'],
  ['ENOTRECOVERABLE', 'state not recoverable'],
  ['ENOTSOCK', 'socket operation on non-socket'],
  ['ENOTSUP', 'operation not supported on socket'],
  ['ENOTTY', 'inappropriate ioctl for device'],
  ['ENXIO', 'no such device or address'],
  ['EOVERFLOW', 'value too large for defined data type'],
  ['EOWNERDEAD', 'owner died'],
  ['EPERM', 'operation not permitted'],
  ['EPIPE', 'broken pipe'],
  ['EPROTO', 'protocol error'],
  ['EPROTONOSUPPORT', 'protocol not supported'],
  ['EPROTOTYPE', 'protocol wrong type for socket'],
  ['ERANGE', 'result too large'],
  ['EROFS', 'read-only file system'],
  ['ESPIPE', 'invalid seek'],
  ['ESRCH', 'no such process'],
  ['ESTALE', 'stale file handle'],
  ['ETIMEDOUT', 'connection timed out'],
  ['ETXTBSY', 'text file is busy'],
  ['EXDEV', 'cross-device link not permitted'],
  // WASI's 'capabilities insufficient': what a runtime's own permissions refused. Node's permission
  // model calls it ERR_ACCESS_DENIED, and the host gives that code this errno (API.md: the
  // runtime's code, never a made-up EIO).
  ['ERR_ACCESS_DENIED', 'Access to this API has been restricted']
]

export const ERRNO_SUCCESS = 0
export const ERRNO_BADF = 8
export const ERRNO_EXIST = 20
export const ERRNO_INVAL = 28
export const ERRNO_IO = 29
export const ERRNO_NOTSUP = 58

const BY_CODE = new Map<string, number>(TABLE.map(([code], errno) => [code, errno]))
// Node codes that WASI spells differently or folds into another value.
BY_CODE.set('EWOULDBLOCK', 6)
BY_CODE.set('EOPNOTSUPP', 58)
BY_CODE.set('ERR_OUT_OF_RANGE', ERRNO_INVAL)
BY_CODE.set('ERR_INVALID_ARG_VALUE', ERRNO_INVAL)
BY_CODE.set('ERR_FS_FILE_TOO_LARGE', 22)

/** The WASI errno for a Node error code (EIO for one WASI has no name for). */
export function errnoOf(code: unknown): number {
  return (typeof code === 'string' && BY_CODE.get(code)) || ERRNO_IO
}

/** [code, description] for a WASI errno. */
export function describeErrno(errno: number): readonly [string, string] {
  return TABLE[errno] ?? ['EIO', 'i/o error']
}
