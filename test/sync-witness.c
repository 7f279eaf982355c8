/* LD_PRELOAD witness for the durability tests: logs every msync, fsync and fdatasync the process
 * makes to $MMAPFILE_SYNC_LOG, one line each, written at once (the child is SIGKILLed next), and
 * every pwrite through a descriptor opened with O_DSYNC or O_SYNC, which returns once the bytes are
 * on the disk (the wasm host's way under Node's permission model, which refuses fsync).
 * Without it, a native durability test could not fail: writes to a shared mapping reach the page
 * cache, and so survive SIGKILL, with or without msync. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void witness(const char *line, int length) {
  const char *path = getenv("MMAPFILE_SYNC_LOG");
  if (path == NULL) return;
  int fd = (int) syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void) syscall(SYS_write, fd, line, length);
  (void) syscall(SYS_close, fd);
}

int msync(void *addr, size_t length, int flags) {
  static int (*real)(void *, size_t, int);
  if (real == NULL) real = (int (*)(void *, size_t, int)) dlsym(RTLD_NEXT, "msync");
  int result = real(addr, length, flags);
  char line[96];
  witness(line, snprintf(line, sizeof line, "msync %zu %s %d\n", length, (flags & MS_SYNC) ? "MS_SYNC" : "MS_ASYNC", result));
  return result;
}

int fsync(int fd) {
  static int (*real)(int);
  if (real == NULL) real = (int (*)(int)) dlsym(RTLD_NEXT, "fsync");
  int result = real(fd);
  char line[64];
  witness(line, snprintf(line, sizeof line, "fsync %d\n", result));
  return result;
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (real == NULL) real = (int (*)(int)) dlsym(RTLD_NEXT, "fdatasync");
  int result = real(fd);
  char line[64];
  witness(line, snprintf(line, sizeof line, "fdatasync %d\n", result));
  return result;
}

// A pwrite through an O_DSYNC (or O_SYNC, which includes it) descriptor: "dsync-write <asked> <result>".
static ssize_t logged_pwrite(const char *name, int fd, const void *buffer, size_t count, off_t offset) {
  static ssize_t (*real)(int, const void *, size_t, off_t);
  if (real == NULL) real = (ssize_t (*)(int, const void *, size_t, off_t)) dlsym(RTLD_NEXT, name);
  ssize_t result = real(fd, buffer, count, offset);
  int flags = fcntl(fd, F_GETFL);
  if (flags != -1 && (flags & O_DSYNC) == O_DSYNC) {
    char line[96];
    witness(line, snprintf(line, sizeof line, "dsync-write %zu %zd\n", count, result));
  }
  return result;
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
  return logged_pwrite("pwrite", fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off_t offset) {
  return logged_pwrite("pwrite64", fd, buffer, count, offset);
}
