// POSIX implementation of platform.h: open/fstat/mmap/msync/madvise/ftruncate (+ mremap on Linux).
//
// Descriptors: 'r' closes its descriptor as soon as the file is mapped. 'rw' and create keep it for
// the mapping's life (mf_close releases it): resize must ftruncate the very file that is mapped,
// and reopening the path could reach another file after a rename. Durability does not need it:
// see mf_sync.

#include <errno.h>
#include <fcntl.h>
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

int mf_open(mf_map_t *m, const char *path, int mode, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  // O_NONBLOCK: opening a fifo must not wait for a writer; it is then refused below.
  int flags = (mode == MF_READ ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;
  struct stat st;
  int fd, err;

  mf_init(m);
  m->kind = mode == MF_READ ? MF_PRIVATE : MF_SHARED;

  if (mode == MF_CREATE) {
    // O_EXCL first, to know whether a failure must remove the file. No O_TRUNC: an existing file
    // is emptied only once everything else has worked.
    fd = open(path, flags | O_CREAT | O_EXCL, 0666);
    if (fd >= 0) m->created = 1;
    else if (errno == EEXIST) fd = open(path, flags | O_CREAT, 0666);
  } else {
    fd = open(path, flags);
  }
  if (fd < 0) return FAIL(m, "open");
  m->file = fd;

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
  m->length = (size_t) length;

  if (length > 0) {
    int share = MAP_SHARED;
#ifdef MAP_NORESERVE
    // 'r' is writable copy-on-write memory; reserving swap for all of it would refuse large files.
    if (mode == MF_READ) share = MAP_PRIVATE | MAP_NORESERVE;
#else
    if (mode == MF_READ) share = MAP_PRIVATE;
#endif
    void *p = mmap(NULL, m->delta + m->length, PROT_READ | PROT_WRITE, share, fd, (off_t) (offset - (int64_t) m->delta));
    if (p == MAP_FAILED) {
      err = FAIL(m, "mmap");
      goto fail;
    }
    m->base = p;
  }

  if (mode == MF_CREATE) {
    // Mapping past the end of the file is allowed; the bytes exist once the file has its size.
    // Growing first means a size the file cannot take (EFBIG, a quota) fails while the old bytes
    // are whole; once it has worked, emptying and sizing again only give back what it took.
    if ((length > st.st_size && ftruncate(fd, (off_t) length) != 0) ||
        (st.st_size != 0 && ftruncate(fd, 0) != 0) || ftruncate(fd, (off_t) length) != 0) {
      err = FAIL(m, "ftruncate");
      goto fail;
    }
  }
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

int mf_alloc(mf_map_t *m, size_t length) {
  mf_init(m);
  m->kind = MF_ANON;
  if (length == 0) return 0;
  void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return FAIL(m, "mmap");
  m->base = p;
  m->length = length;
  return 0;
}

// msync(MS_SYNC) is enough for durability: on Linux it calls vfs_fsync_range(file, range,
// datasync = 1) for a shared file mapping, i.e. fdatasync of those pages, which also writes the
// metadata needed to read them back (the size after a resize). An empty view has no pages to
// sync, but a resize may have changed the size: fsync the kept descriptor then.
int mf_sync(mf_map_t *m, size_t offset, size_t length) {
  if (m->kind != MF_SHARED) return 0;
  if (m->base == NULL) {
    if (m->file != MF_NO_FILE && fsync((int) m->file) != 0) return FAIL(m, "fsync");
    return 0;
  }
  if (offset > m->length) offset = m->length;
  if (length > m->length - offset) length = m->length - offset;
  if (length == 0) return 0;

  size_t start = m->delta + offset;
  size_t aligned = start - start % mf_page_size();
  if (msync(m->base + aligned, start + length - aligned, MS_SYNC) != 0) return FAIL(m, "msync");
  return 0;
}

int mf_advise(mf_map_t *m, int advice) {
  static const int table[] = {MADV_NORMAL, MADV_SEQUENTIAL, MADV_RANDOM, MADV_WILLNEED, MADV_DONTNEED};

  if (m->base == NULL || advice < MF_NORMAL || advice > MF_DONTNEED) return 0;
  // On Linux MADV_DONTNEED throws away the copy-on-write pages of a private mapping, i.e. what was
  // written to an 'r' or alloc view. For a shared file mapping it only drops page references:
  // dirty pages stay in the page cache (zap_pte_range marks them dirty), so nothing is lost.
  if (advice == MF_DONTNEED && m->kind != MF_SHARED) return 0;
  if (madvise(m->base, m->delta + m->length, table[advice]) != 0) return FAIL(m, "madvise");
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
    void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return FAIL(m, "mmap");
    base = p;
    if (m->base != NULL) memcpy(base, m->base, length < m->length ? length : m->length);
  }
  replace(m, base, length, old);
  return 0;
}

// Sets the file of a shared mapping to offset + length, under the registry's lock. Growth must read
// zeros, also where the window ended before the end of the file: then the bytes past the window are
// cut first (they are past the new end or are to read as zeros: the file is offset + length bytes
// after a resize). A cut cannot be undone, so when the file is to grow past its size, that growth
// is tried first: once it has worked, the cut and the same growth again cannot fail for want of
// room or a size limit. The cut is at the smaller of the two window ends, and refused (EBUSY) if
// another live mapping of this process ends beyond it (platform.h, registry).
static int set_file_size(mf_map_t *m, size_t length) {
  int fd = (int) m->file;
  int64_t end = m->offset + (int64_t) length;
  int64_t keep = m->offset + (int64_t) (length < m->length ? length : m->length);
  struct stat st;
  if (mf_registry_end(m) > keep) {
    m->syscall = "ftruncate";
    return -EBUSY;
  }
  if (length > m->length) {
    if (fstat(fd, &st) != 0) return FAIL(m, "fstat");
    if (st.st_size > keep) {
      if (end > st.st_size && ftruncate(fd, (off_t) end) != 0) return FAIL(m, "ftruncate");
      if (ftruncate(fd, (off_t) keep) != 0) {
        int err = FAIL(m, "ftruncate");
        int undone = ftruncate(fd, st.st_size) == 0; // if not, only zeros were added at the end
        (void) undone;
        return err;
      }
    }
  }
  if (ftruncate(fd, (off_t) end) != 0) return FAIL(m, "ftruncate");
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
    void *p = mmap(NULL, m->delta + length, PROT_READ | PROT_WRITE, MAP_SHARED, (int) m->file, (off_t) (m->offset - (int64_t) m->delta));
    if (p == MAP_FAILED) return FAIL(m, "mmap");
    base = p;
  }
  mf_registry_lock();
  int err = set_file_size(m, length);
  if (err != 0) {
    mf_registry_unlock();
    if (base != NULL) munmap(base, m->delta + length);
    return err;
  }
  replace(m, base, length, old);
  mf_registry_update(m);
  mf_registry_unlock();
  return 0;
}

void mf_unmap(mf_map_t *m) {
  if (m->base != NULL) munmap(m->base, m->delta + m->length);
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
