// POSIX system calls of platform.h: open/fstat/mmap/msync/madvise/ftruncate/fallocate (+ mremap on
// Linux). What they are called for, and in which order, is mapping.c's.

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform.h"

// libuv numbers errors -errno on POSIX, so errno itself is all the glue needs.
#define FAIL(m, name) ((m)->syscall = (name), -errno)

const int MF_ENOMEM = -ENOMEM;
const int MF_ECANCELED = -ECANCELED;
const int PF_EBUSY = -EBUSY, PF_EINVAL = -EINVAL, PF_EISDIR = -EISDIR, PF_ENODEV = -ENODEV, PF_EBADF = -EBADF;
const int pf_maps_past_end = 1;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
void pf_lock(void) { pthread_mutex_lock(&lock); }
void pf_unlock(void) { pthread_mutex_unlock(&lock); }

size_t mf_page_size(void) {
  static size_t page = 0;
  if (page == 0) page = (size_t) sysconf(_SC_PAGESIZE);
  return page;
}

size_t pf_granularity(void) {
  return mf_page_size();
}

// ---- the kernel's limit on mappings

// Regions this addon has mapped and not yet unmapped, in every thread.
static atomic_long regions = 0;

#ifdef __linux__
// Linux refuses a process more than vm.max_map_count mappings (65,530 by default), and the JavaScript
// engine aborts the process when it cannot map (V8: "Zone Allocation failed"), so we stop this much
// short of the limit: a loop of gcopen with no turn of the event loop (where dropped views are
// unmapped) then ends in a catchable ENOMEM. Measured on Node 20 (.scratch experiment, described in
// the README): after that ENOMEM a program could still make 3,500 large (320 KB) arrays, each a
// mapping of V8's; with a margin of 1,000 it died making 2,000.
#define ENGINE_HEADROOM 4096
// How often the process's mappings are counted for real (/proc/self/maps, about 100 bytes a line):
// far from the limit, every 1024 regions of ours; near it, every 64.
#define RECOUNT_FAR 1024
#define RECOUNT_NEAR 64

static long read_long(const char *path) {
  FILE *f = fopen(path, "re");
  long value = -1;
  if (f == NULL) return -1;
  if (fscanf(f, "%ld", &value) != 1) value = -1;
  fclose(f);
  return value;
}

static long count_lines(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buffer[65536];
  long lines = 0;
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) {
    for (ssize_t i = 0; i < n; i++) lines += buffer[i] == '\n';
  }
  close(fd);
  return n < 0 ? -1 : lines;
}

int pf_room_for_region(void) {
  static atomic_long limit = 0;       // vm.max_map_count, read once; -1: unknown (no check)
  static atomic_long counted = -1;    // the process's mappings at the last count
  static atomic_long counted_at = 0;  // our regions then
  long max = atomic_load(&limit);
  if (max == 0) {
    max = read_long("/proc/sys/vm/max_map_count");
    if (max <= ENGINE_HEADROOM) max = -1;
    atomic_store(&limit, max);
  }
  if (max < 0) return 0;
  // Between counts, every region of ours is taken for one more mapping (the kernel may merge some:
  // adjacent anonymous ones do), so the estimate errs on the side of refusing; a count corrects it.
  long ours = atomic_load(&regions);
  long since = ours - atomic_load(&counted_at);
  long all = atomic_load(&counted);
  int near = all >= 0 && all + since + 1 > max - ENGINE_HEADROOM - RECOUNT_FAR;
  if (all < 0 || since >= RECOUNT_FAR || since <= -RECOUNT_FAR || (near && (since >= RECOUNT_NEAR || since <= -RECOUNT_NEAR))) {
    all = count_lines("/proc/self/maps");
    if (all < 0) return 0; // no /proc: nothing to go by
    atomic_store(&counted, all);
    atomic_store(&counted_at, ours);
    since = 0;
  }
  return all + (since > 0 ? since : 0) + 1 > max - ENGINE_HEADROOM ? -ENOMEM : 0;
}
#else
int pf_room_for_region(void) {
  return 0; // no such limit
}
#endif

// A bound, not a measurement: the user address space of the architecture, or RLIMIT_AS where that
// is set. Probing the free address space by mapping ever larger regions took minutes under qemu-user
// (which tracks every guest page of a reservation) and is as slow under valgrind and gVisor; a
// mapping beyond what really fits fails with ENOMEM at mmap anyway, which is the error to give.
// Only under a finite RLIMIT_AS (ulimit -v, where the process may already use most of the limit)
// is the room left searched for, within that limit: a few dozen mmap/munmap pairs.
size_t mf_max_map(void) {
  size_t unit = pf_granularity();
#if SIZE_MAX > 0xFFFFFFFFu
  // User space is 47 bits on x86-64 (Linux, macOS) and 48 on aarch64 Linux with 4 KiB pages.
  size_t bound = (size_t) 1 << 47;
#else
  size_t bound = SIZE_MAX / 2 + 1; // no process can map half of all addresses and more
#endif
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= bound) return bound;

  size_t fits = 0, fails = (size_t) limit.rlim_cur + unit;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_NORESERVE
  flags |= MAP_NORESERVE;
#endif
  while (fails - fits > unit) {
    size_t size = (fits + (fails - fits) / 2) / unit * unit;
    void *p = mmap(NULL, size, PROT_NONE, flags, -1, 0);
    if (p == MAP_FAILED) {
      fails = size;
    } else {
      munmap(p, size);
      fits = size;
    }
  }
  return fits;
}

// ---- files

int pf_open(mf_map_t *m, const char *path, int mode, intptr_t *file) {
  // O_NONBLOCK: opening a fifo must not wait for a writer; mapping.c refuses it then.
  int oflags = (mode == MF_READ ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;
  int fd;
  if (mode == MF_CREATE) {
    // O_EXCL first, to know whether a failure must remove the file.
    fd = open(path, oflags | O_CREAT | O_EXCL, 0666);
    if (fd >= 0) m->created = 1;
    else if (errno == EEXIST) fd = open(path, oflags | O_CREAT, 0666);
  } else {
    fd = open(path, oflags);
  }
  if (fd < 0) return FAIL(m, "open");
  *file = fd;
  return 0;
}

// The access mode is the caller's: 'r' needs read access and 'rw' read-write access without O_APPEND
// (a mapping writes in place, which an append-only descriptor does not allow), as mmap(2) would answer
// (EACCES), but also for an empty window, which maps nothing.
int pf_dup(mf_map_t *m, int fd, int mode, intptr_t *file) {
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return FAIL(m, "dup");
  int status = fcntl(own, F_GETFL);
  int access = status & O_ACCMODE;
  int err = 0;
  if (status < 0) {
    err = FAIL(m, "fcntl");
#ifdef O_PATH
  } else if ((status & O_PATH) != 0) { // names a file without opening it: mmap(2) says EBADF
    m->syscall = "mmap";
    err = -EBADF;
#endif
  } else if (access == O_WRONLY || (mode == MF_WRITE && (access != O_RDWR || (status & O_APPEND) != 0))) {
    m->syscall = "mmap";
    err = -EACCES;
  }
  if (err != 0) {
    close(own);
    return err;
  }
  *file = own;
  return 0;
}

void pf_close(intptr_t file) {
  close((int) file);
}

void pf_unlink(const char *path) {
  unlink(path);
}

int pf_stat(mf_map_t *m, intptr_t file, pf_stat_t *st) {
  struct stat s;
  if (fstat((int) file, &s) != 0) return FAIL(m, "fstat");
  st->type = S_ISDIR(s.st_mode) ? PF_DIRECTORY : S_ISREG(s.st_mode) ? PF_REGULAR : PF_OTHER;
  st->size = (int64_t) s.st_size;
  st->dev = (uint64_t) s.st_dev;
  st->ino = (uint64_t) s.st_ino;
  return 0;
}

int pf_set_size(mf_map_t *m, intptr_t file, int64_t size) {
  return ftruncate((int) file, (off_t) size) != 0 ? FAIL(m, "ftruncate") : 0;
}

// ENOSPC, EDQUOT, EFBIG; 0 on a file system that cannot reserve (its writes may then fail later, as
// they would without this library).
int pf_reserve(mf_map_t *m, intptr_t file, int64_t offset, int64_t length) {
  int fd = (int) file;
#if defined(__linux__)
  int r;
  do r = fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t) offset, (off_t) length);
  while (r != 0 && errno == EINTR);
  if (r == 0 || errno == EOPNOTSUPP || errno == ENOSYS) return 0;
  return FAIL(m, "fallocate");
#elif defined(__APPLE__)
  fstore_t store = {F_ALLOCATEALL, F_PEOFPOSMODE, 0, (off_t) (offset + length), 0};
  struct stat st;
  if (fstat(fd, &st) != 0) return FAIL(m, "fstat");
  // F_PREALLOCATE allocates from the physical end of the file; blocks below it exist already.
  if (st.st_blocks * 512 >= offset + length) return 0;
  store.fst_length = (off_t) (offset + length) - (off_t) (st.st_blocks * 512);
  if (fcntl(fd, F_PREALLOCATE, &store) == 0 || errno == ENOTSUP) return 0;
  return FAIL(m, "fallocate");
#else
  int r = posix_fallocate(fd, (off_t) offset, (off_t) length);
  if (r == 0 || r == EINVAL || r == EOPNOTSUPP) return 0;
  m->syscall = "fallocate";
  return -r;
#endif
}

// A punched hole (Linux); elsewhere 1, and mapping.c zeros the bytes through the new mapping.
int pf_zero(mf_map_t *m, intptr_t file, int64_t from, int64_t to, int64_t size) {
  (void) size;
#if defined(__linux__)
  int r;
  do r = fallocate((int) file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t) from, (off_t) (to - from));
  while (r != 0 && errno == EINTR);
  if (r == 0) return 0;
  if (errno == EOPNOTSUPP || errno == ENOSYS) return 1;
  return FAIL(m, "fallocate");
#else
  (void) m, (void) file, (void) from, (void) to;
  return 1;
#endif
}

// ---- regions

int pf_map(mf_map_t *m, intptr_t file, int copy, int64_t start, size_t size, void *at, char **base) {
  int share = MAP_SHARED;
#ifdef MAP_NORESERVE
  // 'r' is writable copy-on-write memory; reserving swap for all of it would refuse large files.
  if (copy) share = MAP_PRIVATE | MAP_NORESERVE;
#else
  if (copy) share = MAP_PRIVATE;
#endif
  void *p = mmap(at, size, PROT_READ | PROT_WRITE, share, (int) file, (off_t) start);
  if (p == MAP_FAILED) return FAIL(m, "mmap");
  atomic_fetch_add(&regions, 1);
  *base = p;
  return 0;
}

int pf_alloc(mf_map_t *m, size_t size, char **base) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return FAIL(m, "mmap");
  atomic_fetch_add(&regions, 1);
  *base = p;
  return 0;
}

int pf_remap(mf_map_t *m, char *base, size_t size, size_t to, char **moved) {
#ifdef MREMAP_MAYMOVE
  void *p = mremap(base, size, to, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) return FAIL(m, "mremap");
  *moved = p;
  return 0;
#else
  (void) m, (void) base, (void) size, (void) to, (void) moved;
  return 1;
#endif
}

void pf_unmap(int kind, char *base, size_t size) {
  (void) kind;
  munmap(base, size);
  atomic_fetch_sub(&regions, 1);
}

// ---- writing back, hints

// Marks the resident pages of the region dirty again (see mapping.h, mf_sync). Pages that are not
// resident hold nothing unwritten. A byte written to itself: another writer of that very byte in the
// same instant could lose its write, which is the lesser risk than a sync that claims what it did not do.
static void redirty(mf_map_t *m) {
  size_t page = mf_page_size();
  size_t pages = (m->delta + m->length + page - 1) / page;
  unsigned char *resident = malloc(pages);
  if (resident != NULL && mincore(m->base, pages * page, resident) != 0) {
    free(resident);
    resident = NULL;
  }
  for (size_t i = 0; i < pages; i++) {
    if (resident != NULL && !(resident[i] & 1)) continue;
    volatile char *p = m->base + i * page;
    *p = *p;
  }
  free(resident);
  m->redirty = 0;
}

// msync(MS_SYNC) is enough for durability: on Linux it calls vfs_fsync_range(file, range,
// datasync = 1) for a shared file mapping, i.e. fdatasync of those pages, which also writes the
// metadata needed to read them back (the size after a resize).
int pf_sync(mf_map_t *m, char *first, size_t bytes) {
  if (m->redirty) redirty(m);
  if (msync(first, bytes, MS_SYNC) != 0) {
    m->redirty = 1;
    return FAIL(m, "msync");
  }
  return 0;
}

int pf_fsync(mf_map_t *m) {
  return fsync((int) m->file) != 0 ? FAIL(m, "fsync") : 0;
}

// MS_ASYNC: where the page cache is shared with read(2) (Linux, the BSDs, macOS) the bytes are visible
// already and this only has the pages written soon; elsewhere it is what makes them visible.
int pf_flush(mf_map_t *m, char *first, size_t bytes) {
  return msync(first, bytes, MS_ASYNC) != 0 ? FAIL(m, "msync") : 0;
}

int pf_incore(mf_map_t *m, char *first, size_t pages, uint64_t *resident) {
  unsigned char vector[PF_INCORE_BATCH];
  if (mincore(first, pages * mf_page_size(), (void *) vector) != 0) return FAIL(m, "mincore");
  for (size_t i = 0; i < pages; i++) *resident += vector[i] & 1;
  return 0;
}

// For a shared file mapping MADV_DONTNEED only drops page references: dirty pages stay in the page
// cache (zap_pte_range marks them dirty), so nothing is lost (mapping.c gives it for no other).
int pf_advise(mf_map_t *m, int advice, char *first, size_t bytes) {
  static const int table[] = {MADV_NORMAL, MADV_SEQUENTIAL, MADV_RANDOM, MADV_WILLNEED, MADV_DONTNEED};
  return madvise(first, bytes, table[advice]) != 0 ? FAIL(m, "madvise") : 0;
}
