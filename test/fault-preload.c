/* LD_PRELOAD fault injector for the conformance suite's fault area (test/conformance/faults.ts).
 *
 * Why it exists: "a failed call leaves nothing behind" and "a failed write-back keeps the view" are
 * promises about what happens when the system refuses, and only the real calls can be made to refuse
 * for both backends alike: the native addon calls libc itself, the wasm backend reaches the same calls
 * through Node's fs (libuv). A stand-in WASI host tests only what the stand-in does.
 *
 *   MMAPFILE_FAULTS="ftruncate=2:EFBIG,msync=1:EIO"
 *     the 2nd ftruncate fails with EFBIG, the 1st msync with EIO; every other call goes through.
 *     name=N-M:ERR fails the Nth to Mth calls, name=N+:ERR every call from the Nth on.
 *     A name and its 64-bit twin are one function (ftruncate64 counts as ftruncate); the counts are per
 *     function, over all threads, and start again whenever the value of the variable changes: a child
 *     arms its faults when it wants with process.env.MMAPFILE_FAULTS = '...' (Node calls setenv).
 *     Entries that do not parse are ignored, so a tag (",#2") makes the same faults a new value: setting
 *     the value it has already is no change. Give the variable a value (even empty) when the process
 *     starts: setenv of a name not yet in the environment reallocates it under the threads that read
 *     it here.
 *     mmap's faults count only mappings of at least MMAPFILE_FAULTS_MMAP_MIN bytes (default 0): the
 *     JavaScript engine maps memory for itself at any time, and dies when that fails.
 *   MMAPFILE_FAULTS_LOG=path
 *     appends one line per call, written at once: "name count argument result errno", where the
 *     argument is the fd, or the length for msync and mmap, or the flags for open.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { FTRUNCATE, FALLOCATE, POSIX_FALLOCATE, MSYNC, FSYNC, FDATASYNC, PWRITE, PWRITEV, OPEN, OPENAT, MMAP, FUNCTIONS };
static const char *const names[FUNCTIONS] = {
  "ftruncate", "fallocate", "posix_fallocate", "msync", "fsync", "fdatasync", "pwrite", "pwritev", "open", "openat", "mmap"
};

static const struct { const char *name; int value; } errnos[] = {
  {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EFBIG", EFBIG}, {"EMFILE", EMFILE}, {"ENFILE", ENFILE}, {"ENOMEM", ENOMEM},
  {"EPERM", EPERM}, {"EACCES", EACCES}, {"EINTR", EINTR}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS}, {"EINVAL", EINVAL},
};

#define MAX_FAULTS 16
static struct { int function; long first, last; int error; } faults[MAX_FAULTS];
static int nfaults;
static long calls[FUNCTIONS];
static const char *armed; // the value the faults were parsed from
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void parse(const char *spec) {
  nfaults = 0;
  memset(calls, 0, sizeof calls);
  for (const char *p = spec; p != NULL && *p != '\0' && nfaults < MAX_FAULTS; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
    char name[32], range[32], error[16];
    if (sscanf(p, "%31[a-z_0-9]=%31[0-9+-]:%15[A-Z0-9]", name, range, error) != 3) continue;
    size_t n = strlen(name);
    if (n > 2 && strcmp(name + n - 2, "64") == 0) name[n - 2] = '\0';
    int f = 0, e = 0;
    while (f < FUNCTIONS && strcmp(names[f], name) != 0) f++;
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++) if (strcmp(errnos[i].name, error) == 0) e = errnos[i].value;
    if (e == 0) e = atoi(error);
    if (f == FUNCTIONS || e <= 0) continue;
    char *end;
    long first = strtol(range, &end, 10), last = first;
    if (*end == '+') last = -1;
    else if (*end == '-') last = strtol(end + 1, NULL, 10);
    faults[nfaults].function = f;
    faults[nfaults].first = first;
    faults[nfaults].last = last;
    faults[nfaults].error = e;
    nfaults++;
  }
}

static void logged(int function, long count, long argument, long result, int error) {
  const char *path = getenv("MMAPFILE_FAULTS_LOG");
  if (path == NULL || *path == '\0') return;
  char line[128];
  int length = snprintf(line, sizeof line, "%s %ld %ld %ld %d\n", names[function], count, argument, result, error);
  int fd = (int) syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void) syscall(SYS_write, fd, line, length);
  (void) syscall(SYS_close, fd);
}

// Counts a call of `function`: the errno it must fail with, or 0. `*count` gets its number.
static int fault(int function, long *count) {
  pthread_mutex_lock(&lock);
  const char *spec = getenv("MMAPFILE_FAULTS");
  if (spec != armed) {
    armed = spec;
    parse(spec);
  }
  long n = *count = ++calls[function];
  int error = 0;
  for (int i = 0; i < nfaults && error == 0; i++) {
    if (faults[i].function == function && n >= faults[i].first && (faults[i].last < 0 || n <= faults[i].last)) error = faults[i].error;
  }
  pthread_mutex_unlock(&lock);
  return error;
}

static void *real(const char *name) {
  return dlsym(RTLD_NEXT, name);
}

// The body of every wrapper that returns -1 and sets errno: fail, or call the real one; log either
// way. A call that is not `counted` goes straight through.
#define INTERPOSE(function, symbol, argument, counted, call) \
  static __typeof__(symbol) *next; \
  if (next == NULL) next = (__typeof__(symbol) *) real(#symbol); \
  if (!(counted)) return next call; \
  long count; \
  int error = fault(function, &count); \
  __typeof__(symbol call) result = error != 0 ? (__typeof__(symbol call)) -1 : next call; \
  int saved = errno; \
  if (error == 0 && result == (__typeof__(symbol call)) -1) error = saved; \
  logged(function, count, (long) (argument), (long) result, error); \
  errno = error != 0 ? error : saved; \
  return result;

// Each plain name forwards to its 64-bit twin (the same call with a wider offset; on 64-bit systems
// the very same function), so that a function is counted once whichever name a caller uses.
int ftruncate64(int fd, off64_t length) { INTERPOSE(FTRUNCATE, ftruncate64, fd, 1, (fd, length)) }
int ftruncate(int fd, off_t length) { return ftruncate64(fd, length); }
int fallocate64(int fd, int mode, off64_t offset, off64_t length) { INTERPOSE(FALLOCATE, fallocate64, fd, 1, (fd, mode, offset, length)) }
int fallocate(int fd, int mode, off_t offset, off_t length) { return fallocate64(fd, mode, offset, length); }
int msync(void *addr, size_t length, int flags) { INTERPOSE(MSYNC, msync, length, 1, (addr, length, flags)) }
int fsync(int fd) { INTERPOSE(FSYNC, fsync, fd, 1, (fd)) }
int fdatasync(int fd) { INTERPOSE(FDATASYNC, fdatasync, fd, 1, (fd)) }
ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t at) { INTERPOSE(PWRITE, pwrite64, fd, 1, (fd, buf, n, at)) }
ssize_t pwrite(int fd, const void *buf, size_t n, off_t at) { return pwrite64(fd, buf, n, at); }
ssize_t pwritev64(int fd, const struct iovec *iov, int n, off64_t at) { INTERPOSE(PWRITEV, pwritev64, fd, 1, (fd, iov, n, at)) }
ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t at) { return pwritev64(fd, iov, n, at); }

// posix_fallocate returns the error instead of setting errno.
int posix_fallocate64(int fd, off64_t offset, off64_t length) {
  static __typeof__(posix_fallocate64) *next;
  if (next == NULL) next = (__typeof__(posix_fallocate64) *) real("posix_fallocate64");
  long count;
  int error = fault(POSIX_FALLOCATE, &count);
  if (error == 0) error = next(fd, offset, length);
  logged(POSIX_FALLOCATE, count, fd, error == 0 ? 0 : -1, error);
  return error;
}
int posix_fallocate(int fd, off_t offset, off_t length) { return posix_fallocate64(fd, offset, length); }

// open's mode is there only with O_CREAT or O_TMPFILE.
#define MODE_ARG(flags) \
  mode_t mode = 0; \
  if ((flags) & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }

int open64(const char *path, int flags, ...) { MODE_ARG(flags) INTERPOSE(OPEN, open64, flags, 1, (path, flags, mode)) }
int open(const char *path, int flags, ...) { MODE_ARG(flags) return open64(path, flags, mode); }
int openat64(int dir, const char *path, int flags, ...) { MODE_ARG(flags) INTERPOSE(OPENAT, openat64, flags, 1, (dir, path, flags, mode)) }
int openat(int dir, const char *path, int flags, ...) { MODE_ARG(flags) return openat64(dir, path, flags, mode); }

// Mappings smaller than MMAPFILE_FAULTS_MMAP_MIN are neither counted nor failed (see the top).
static int small(size_t length) {
  static long min = -1;
  if (min < 0) {
    const char *value = getenv("MMAPFILE_FAULTS_MMAP_MIN");
    min = value != NULL ? atol(value) : 0;
  }
  return length < (size_t) min;
}

void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off64_t offset) {
  INTERPOSE(MMAP, mmap64, length, !small(length), (addr, length, prot, flags, fd, offset))
}
void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) { return mmap64(addr, length, prot, flags, fd, offset); }
