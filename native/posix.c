// POSIX implementation of platform.h: open/fstat/mmap/msync/madvise/ftruncate (+ mremap on Linux).
//
// Descriptors: 'r' closes its descriptor as soon as the file is mapped. 'rw' and create keep it for
// the mapping's life (mf_close releases it): resize must ftruncate the very file that is mapped,
// and reopening the path could reach another file after a rename. Durability does not need it:
// see mf_sync.

#include <errno.h>
#include <fcntl.h>
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

// ---- the kernel's limit on mappings

// Regions this addon has mapped and not yet unmapped, in every thread.
static atomic_long regions = 0;

static void counted_map(void) { atomic_fetch_add(&regions, 1); }
static void counted_unmap(void) { atomic_fetch_sub(&regions, 1); }

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

int mf_room_for_region(void) {
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
int mf_room_for_region(void) {
  return 0; // no such limit
}
#endif

// ---- reserving disk space

// Reserves the blocks of [offset, offset + length) of fd, keeping its contents and size. 0, or -errno
// (ENOSPC, EDQUOT, EFBIG). A file system that cannot reserve is left alone (its writes may then fail
// later, as they would without this library).
static int reserve(mf_map_t *m, int fd, int64_t offset, int64_t length) {
  if (length <= 0 || m->sparse) return 0;
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

const int MF_ENOMEM = -ENOMEM;
const int MF_ECANCELED = -ECANCELED;

void mf_init(mf_map_t *m) {
  memset(m, 0, sizeof(*m));
  m->kind = MF_NONE;
  m->base = NULL;
  m->file = MF_NO_FILE;
  m->syscall = NULL;
}

size_t mf_page_size(void) {
  static size_t page = 0;
  if (page == 0) page = (size_t) sysconf(_SC_PAGESIZE);
  return page;
}

size_t mf_granularity(void) {
  return mf_page_size();
}

// A bound, not a measurement: the user address space of the architecture, or RLIMIT_AS where that
// is set. Probing the free address space by mapping ever larger regions took minutes under qemu-user
// (which tracks every guest page of a reservation) and is as slow under valgrind and gVisor; a
// mapping beyond what really fits fails with ENOMEM at mmap anyway, which is the error to give.
// Only under a finite RLIMIT_AS (ulimit -v, where the process may already use most of the limit)
// is the room left searched for, within that limit: a few dozen mmap/munmap pairs.
size_t mf_max_map(void) {
  size_t unit = mf_granularity();
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

static size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

// Sizes a file that create opened (`size` bytes before) to `length` zero bytes, with its blocks
// reserved. The old bytes are let go only once everything that could fail for want of room has been
// tried while they are whole: the growth (EFBIG) and the reservation (ENOSPC), each undone if what
// follows fails. Once emptied, a failure leaves the file empty and says so (m->emptied).
static int size_created(mf_map_t *m, int fd, int64_t size, int64_t length) {
  int grown = length > size;
  int err = 0;
  if (grown && ftruncate(fd, (off_t) length) != 0) return FAIL(m, "ftruncate");
  err = reserve(m, fd, 0, length);
  if (err == 0 && size > 0 && ftruncate(fd, 0) != 0) err = FAIL(m, "ftruncate");
  if (err != 0) {
    if (grown && ftruncate(fd, (off_t) size) != 0) { /* only zeros were added at the end */ }
    return err;
  }
  if (size == 0) return 0; // a new or empty file: sized and reserved above
  m->emptied = 1;
  if (ftruncate(fd, (off_t) length) != 0) return FAIL(m, "ftruncate");
  // Emptying gave the blocks back: reserve them again (what was just freed, so unless another
  // writer took the space meanwhile, this works).
  err = reserve(m, fd, 0, length);
  if (err != 0) {
    if (ftruncate(fd, 0) != 0) { /* the error says the file was emptied; its size is moot */ }
    return err;
  }
  m->emptied = 0;
  return 0;
}

// Maps the window of the open descriptor `fd` (mf_open's and mf_open_fd's common part): m->file is
// fd already, and a failure releases it (and removes the file if mf_open created it: `path`).
static int map_file(mf_map_t *m, int fd, const char *path, int mode, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  struct stat st;
  int err;

  // From the size to the registration: no other thread's create or resize changes the size meanwhile.
  mf_registry_lock();
  if (fstat(fd, &st) != 0) {
    err = FAIL(m, "fstat");
    goto fail;
  }
  if (S_ISDIR(st.st_mode)) { // O_RDONLY opens a directory on Linux: refuse it as open(O_RDWR) would
    m->syscall = "open";
    err = -EISDIR;
    goto fail;
  }
  if (!S_ISREG(st.st_mode)) { // fifo, socket, device: what mmap itself answers for a fifo
    m->syscall = "mmap";
    err = -ENODEV;
    goto fail;
  }
  m->dev = (uint64_t) st.st_dev;
  m->ino = (uint64_t) st.st_ino;
  if (mode == MF_CREATE && mf_registry_end(m) > 0) { // emptying the file would cut another view
    m->syscall = "open";
    err = -EBUSY;
    goto fail;
  }

  *file_size = mode == MF_CREATE ? length : (int64_t) st.st_size;
  err = mf_check_window(*file_size, offset, &length, max);
  if (err != 0) goto fail;

  m->offset = offset;
  m->delta = (size_t) (offset % (int64_t) mf_granularity());

  if (length > 0) {
    int share = MAP_SHARED;
#ifdef MAP_NORESERVE
    // 'r' is writable copy-on-write memory; reserving swap for all of it would refuse large files.
    if (mode == MF_READ) share = MAP_PRIVATE | MAP_NORESERVE;
#else
    if (mode == MF_READ) share = MAP_PRIVATE;
#endif
    err = mf_room_for_region();
    if (err != 0) {
      m->syscall = "mmap";
      goto fail;
    }
    void *p = mmap(NULL, m->delta + (size_t) length, PROT_READ | PROT_WRITE, share, fd, (off_t) (offset - (int64_t) m->delta));
    if (p == MAP_FAILED) {
      err = FAIL(m, "mmap");
      goto fail;
    }
    counted_map();
    m->base = p;
    m->length = (size_t) length;
  }

  // Mapping past the end of the file is allowed; the bytes exist once the file has its size.
  if (mode == MF_CREATE) err = size_created(m, fd, (int64_t) st.st_size, length);
  else if (mode == MF_WRITE) err = reserve(m, fd, offset, length);
  if (err != 0) goto fail;
  if (mf_registry_add(m) != 0) {
    m->syscall = "malloc";
    err = -ENOMEM;
    goto fail;
  }
  mf_registry_unlock();

  if (mode == MF_READ) {
    close(fd);
    m->file = MF_NO_FILE;
  }
  return 0;

fail:
  mf_registry_unlock();
  mf_abort(m, path);
  return err;
}

int mf_open(mf_map_t *m, const char *path, int mode, int flags, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  // O_NONBLOCK: opening a fifo must not wait for a writer; it is then refused below.
  int oflags = (mode == MF_READ ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;
  int fd;

  mf_init(m);
  m->kind = mode == MF_READ ? MF_PRIVATE : MF_SHARED;
  m->sparse = (flags & MF_SPARSE) != 0;

  if (mode == MF_CREATE) {
    // O_EXCL first, to know whether a failure must remove the file. No O_TRUNC: an existing file
    // is emptied only once everything else has worked.
    fd = open(path, oflags | O_CREAT | O_EXCL, 0666);
    if (fd >= 0) m->created = 1;
    else if (errno == EEXIST) fd = open(path, oflags | O_CREAT, 0666);
  } else {
    fd = open(path, oflags);
  }
  if (fd < 0) return FAIL(m, "open");
  m->file = fd;
  return map_file(m, fd, path, mode, offset, length, max, file_size);
}

// The caller's descriptor is duplicated first, and everything after works on the duplicate: the
// caller may close its descriptor (or a worker thread may, meanwhile), and a later file that takes
// its number then never sees our write-back. The access mode is the caller's: 'r' needs read
// access and 'rw' read-write access without O_APPEND (a mapping writes in place, which an append-only
// descriptor does not allow), as mmap(2) would answer (EACCES), but also for an empty window, which
// maps nothing.
int mf_open_fd(mf_map_t *m, int fd, int mode, int flags, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  mf_init(m);
  m->kind = mode == MF_READ ? MF_PRIVATE : MF_SHARED;
  m->sparse = (flags & MF_SPARSE) != 0;
  if (mode == MF_CREATE || fd < 0) {
    m->syscall = "dup";
    return -EBADF;
  }
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return FAIL(m, "dup");
  m->file = own;
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
    mf_abort(m, NULL);
    return err;
  }
  return map_file(m, own, NULL, mode, offset, length, max, file_size);
}

int mf_alloc(mf_map_t *m, size_t length) {
  mf_init(m);
  m->kind = MF_ANON;
  if (length == 0) return 0;
  int err = mf_room_for_region();
  if (err != 0) {
    m->syscall = "mmap";
    return err;
  }
  void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return FAIL(m, "mmap");
  counted_map();
  m->base = p;
  m->length = length;
  return 0;
}

// msync(MS_SYNC) is enough for durability: on Linux it calls vfs_fsync_range(file, range,
// datasync = 1) for a shared file mapping, i.e. fdatasync of those pages, which also writes the
// metadata needed to read them back (the size after a resize). An empty view has no pages to
// sync, but a resize may have changed the size: fsync the kept descriptor then.
// Marks the resident pages of the region dirty again (see platform.h, mf_sync). Pages that are not
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

// The pages holding view bytes [offset, offset + length), clamped to the view: their first byte, and
// *bytes their span (0 if the range is empty).
static char *page_span(const mf_map_t *m, size_t offset, size_t length, size_t *bytes) {
  if (offset > m->length) offset = m->length;
  if (length > m->length - offset) length = m->length - offset;
  size_t start = m->delta + offset;
  size_t aligned = start - start % mf_page_size();
  *bytes = length == 0 ? 0 : start + length - aligned;
  return m->base + aligned;
}

int mf_sync(mf_map_t *m, size_t offset, size_t length) {
  if (m->kind != MF_SHARED) return 0;
  if (m->base == NULL) {
    if (m->file != MF_NO_FILE && fsync((int) m->file) != 0) return FAIL(m, "fsync");
    return 0;
  }
  size_t bytes;
  char *first = page_span(m, offset, length, &bytes);
  if (bytes == 0) return 0;

  if (m->redirty) redirty(m);
  if (msync(first, bytes, MS_SYNC) != 0) {
    m->redirty = 1;
    return FAIL(m, "msync");
  }
  return 0;
}

// MS_ASYNC: where the page cache is shared with read(2) (Linux, the BSDs, macOS) the bytes are visible
// already and this only has the pages written soon; elsewhere it is what makes them visible.
int mf_flush(mf_map_t *m, size_t offset, size_t length) {
  if (m->kind != MF_SHARED || m->base == NULL) return 0;
  size_t bytes;
  char *first = page_span(m, offset, length, &bytes);
  if (bytes > 0 && msync(first, bytes, MS_ASYNC) != 0) return FAIL(m, "msync");
  return 0;
}

// mincore(2) over at most this many pages at a time, so that its vector stays small.
#define INCORE_BATCH 65536

int mf_incore(mf_map_t *m, size_t offset, size_t length, uint64_t *resident, uint64_t *pages) {
  size_t page = mf_page_size(), bytes;
  char *first = page_span(m, offset, length, &bytes);
  *resident = 0;
  *pages = (bytes + page - 1) / page;
  if (m->base == NULL || *pages == 0) return 0;
  unsigned char *vector = malloc(*pages < INCORE_BATCH ? *pages : INCORE_BATCH);
  if (vector == NULL) {
    m->syscall = "malloc";
    return -ENOMEM;
  }
  for (uint64_t done = 0; done < *pages;) {
    size_t n = *pages - done < INCORE_BATCH ? (size_t) (*pages - done) : INCORE_BATCH;
    if (mincore(first + done * page, n * page, (void *) vector) != 0) {
      free(vector);
      return FAIL(m, "mincore");
    }
    for (size_t i = 0; i < n; i++) *resident += vector[i] & 1;
    done += n;
  }
  free(vector);
  return 0;
}

int mf_advise(mf_map_t *m, int advice, size_t offset, size_t length) {
  static const int table[] = {MADV_NORMAL, MADV_SEQUENTIAL, MADV_RANDOM, MADV_WILLNEED, MADV_DONTNEED};

  if (m->base == NULL || advice < MF_NORMAL || advice > MF_DONTNEED) return 0;
  // On Linux MADV_DONTNEED throws away the copy-on-write pages of a private mapping, i.e. what was
  // written to an 'r' or alloc view. For a shared file mapping it only drops page references:
  // dirty pages stay in the page cache (zap_pte_range marks them dirty), so nothing is lost.
  if (advice == MF_DONTNEED && m->kind != MF_SHARED) return 0;
  size_t bytes;
  char *first = page_span(m, offset, length, &bytes);
  if (bytes > 0 && madvise(first, bytes, table[advice]) != 0) return FAIL(m, "madvise");
  return 0;
}

// Puts the new region (base, length) in place and releases the old one, or hands it to `old`.
static void replace(mf_map_t *m, char *base, size_t length, mf_map_t *old) {
  mf_map_t prev = *m;
  prev.file = MF_NO_FILE; // the descriptor and the registry entry stay with m
  prev.reg = NULL;
  m->base = base;
  m->length = length;
  if (old != NULL) *old = prev;
  else mf_unmap(&prev);
}

static int resize_anon(mf_map_t *m, size_t length, mf_map_t *old) {
#ifdef MREMAP_MAYMOVE
  if (old == NULL && m->base != NULL && length > 0) {
    size_t before = m->length;
    void *p = mremap(m->base, m->length, length, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return FAIL(m, "mremap");
    m->base = p;
    m->length = length;
    // Shrinking keeps the last page: zero what was cut, so that a later growth reads zeros.
    if (length < before) {
      size_t end = round_up(length, mf_page_size());
      if (end > before) end = before;
      memset(m->base + length, 0, end - length);
    }
    return 0;
  }
#endif
  char *base = NULL;
  if (length > 0) {
    int err = mf_room_for_region();
    if (err != 0) {
      m->syscall = "mmap";
      return err;
    }
    void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return FAIL(m, "mmap");
    counted_map();
    base = p;
    if (m->base != NULL) memcpy(base, m->base, length < m->length ? length : m->length);
  }
  replace(m, base, length, old);
  return 0;
}

// Zeros [from, to) of the file in place, its size unchanged: a hole punched, then reserved again
// (unless sparse). 0; 1 where the file system cannot punch holes (the caller zeros the bytes through
// the new mapping); or -errno.
static int zero_in_place(mf_map_t *m, int fd, int64_t from, int64_t to) {
  if (to <= from) return 0;
#if defined(__linux__)
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t) from, (off_t) (to - from)) != 0) {
    if (errno == EOPNOTSUPP || errno == ENOSYS) return 1;
    return FAIL(m, "fallocate");
  }
  return reserve(m, fd, from, to - from);
#else
  (void) m;
  (void) fd;
  return 1;
#endif
}

// Sets the file of a shared mapping to offset + length, under the registry's lock, with the blocks
// it adds reserved (mf_open). Nothing here needs the file to be able to do more than the size change
// itself: growth extends the file (EFBIG, ENOSPC, a file sealed against growth fail here, before
// anything else, and a reservation refused undoes the growth); a shrink, or the growth of a window
// that ended before the end of the file to a new end still inside it, cuts what is past the new end
// (a file sealed against shrinking fails here). The bytes a growing window adds that the file held
// past the old window end must read as zeros: they are zeroed in place (a punched hole), or, where
// the file system cannot punch, *zero_from and *zero_to say which for mf_resize to zero through the
// new mapping. A cut below another live mapping's window end is refused first (EBUSY; platform.h).
static int set_file_size(mf_map_t *m, size_t length, int64_t *zero_from, int64_t *zero_to) {
  int fd = (int) m->file;
  int64_t end = m->offset + (int64_t) length;
  int64_t keep = m->offset + (int64_t) (length < m->length ? length : m->length);
  struct stat st;
  int err;
  *zero_from = *zero_to = 0;
  if (mf_registry_end(m) > keep) {
    m->syscall = "ftruncate";
    return -EBUSY;
  }
  if (fstat(fd, &st) != 0) return FAIL(m, "fstat");
  int64_t size = (int64_t) st.st_size;
  if (end > size) {
    if (ftruncate(fd, (off_t) end) != 0) return FAIL(m, "ftruncate");
    err = reserve(m, fd, size, end - size);
    if (err != 0) {
      if (ftruncate(fd, (off_t) size) != 0) { /* only zeros were added at the end */ }
      return err;
    }
  } else if (end < size && ftruncate(fd, (off_t) end) != 0) {
    return FAIL(m, "ftruncate");
  }
  if (length > m->length && size > keep) {
    int64_t upto = size < end ? size : end;
    err = zero_in_place(m, fd, keep, upto);
    if (err < 0) {
      if (end > size && ftruncate(fd, (off_t) size) != 0) { /* only zeros were added at the end */ }
      return err;
    }
    if (err == 1) {
      err = reserve(m, fd, keep, upto - keep);
      if (err != 0) return err;
      *zero_from = keep;
      *zero_to = upto;
    }
  }
  return 0;
}

// A shared file mapping: map the new size first (past the end of the file is allowed), then set
// the file's size, then drop the old mapping. Each step that fails undoes the one before, so the
// old view is never moved or touched by a failure. Both mappings show the same page cache, so
// nothing is copied; ftruncate zero-fills growth, also in the last page after a shrink.
int mf_resize(mf_map_t *m, size_t length, mf_map_t *old) {
  if (m->kind == MF_ANON) return resize_anon(m, length, old);
  if (m->kind != MF_SHARED || m->file == MF_NO_FILE) {
    m->syscall = "mremap";
    return -EINVAL;
  }
  char *base = NULL;
  if (length > 0) {
    int err = mf_room_for_region();
    if (err != 0) {
      m->syscall = "mmap";
      return err;
    }
    void *p = mmap(NULL, m->delta + length, PROT_READ | PROT_WRITE, MAP_SHARED, (int) m->file, (off_t) (m->offset - (int64_t) m->delta));
    if (p == MAP_FAILED) return FAIL(m, "mmap");
    counted_map();
    base = p;
  }
  int64_t zero_from, zero_to;
  mf_registry_lock();
  int err = set_file_size(m, length, &zero_from, &zero_to);
  if (err != 0) {
    mf_registry_unlock();
    if (base != NULL) {
      munmap(base, m->delta + length);
      counted_unmap();
    }
    return err;
  }
  if (zero_to > zero_from) memset(base + m->delta + (zero_from - m->offset), 0, (size_t) (zero_to - zero_from));
  replace(m, base, length, old);
  mf_registry_update(m);
  mf_registry_unlock();
  return 0;
}

void mf_unmap(mf_map_t *m) {
  if (m->base != NULL) {
    munmap(m->base, m->delta + m->length);
    counted_unmap();
  }
  m->base = NULL;
  m->length = 0;
  mf_registry_remove(m);
}

void mf_close(mf_map_t *m) {
  mf_unmap(m);
  if (m->file != MF_NO_FILE) close((int) m->file);
  m->file = MF_NO_FILE;
}

void mf_abort(mf_map_t *m, const char *path) {
  int created = m->created;
  mf_close(m);
  if (created) unlink(path);
  m->created = 0;
}
