// The mappings of mapping.h: their rules and lifetime, once for every platform, over the system calls
// of platform.h (posix.c or win32.c). Here: the create order (open without truncating, grow, reserve,
// empty, size), the rule that no call cuts a file under another live view (EBUSY; registry.c), the
// window checks, resize, and what each failure undoes.
//
// Descriptors: 'r' closes its file as soon as it is mapped. 'rw' and create keep it for the
// mapping's life (mf_close releases it): resize must size the very file that is mapped, and reopening
// the path could reach another file after a rename; Windows needs it for durability too.

#include <string.h>

#include "platform.h"

void mf_init(mf_map_t *m) {
  memset(m, 0, sizeof(*m));
  m->kind = MF_NONE;
  m->base = NULL;
  m->file = MF_NO_FILE;
  m->syscall = NULL;
  m->reg = NULL;
}

static int failing(mf_map_t *m, const char *syscall, int err) {
  m->syscall = syscall;
  return err;
}

static size_t min_size(size_t a, size_t b) {
  return a < b ? a : b;
}

// ---- regions

// Every map asks first whether the process has room for one more (platform.h).
static int map_region(mf_map_t *m, int copy, size_t length, void *at, char **base) {
  int err = pf_room_for_region();
  if (err != 0) return failing(m, "mmap", err);
  return pf_map(m, m->file, copy, m->offset - (int64_t) m->delta, m->delta + length, at, base);
}

static int alloc_region(mf_map_t *m, size_t length, char **base) {
  int err = pf_room_for_region();
  if (err != 0) return failing(m, "mmap", err);
  return pf_alloc(m, length, base);
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

void mf_unmap(mf_map_t *m) {
  if (m->base != NULL) pf_unmap(m->kind, m->base, m->delta + m->length);
  m->base = NULL;
  m->length = 0;
  mf_registry_remove(m);
}

void mf_close(mf_map_t *m) {
  mf_unmap(m);
  if (m->file != MF_NO_FILE) pf_close(m->file);
  m->file = MF_NO_FILE;
}

void mf_abort(mf_map_t *m, const char *path) {
  int created = m->created;
  mf_close(m);
  m->created = 0;
  if (created && path != NULL) pf_unlink(path);
}

// ---- sizing a file

static int reserve(mf_map_t *m, int64_t offset, int64_t length) {
  if (length <= 0 || m->sparse) return 0;
  return pf_reserve(m, m->file, offset, length);
}

// Sizes a file that create opened (`size` bytes before) to `length` zero bytes, with its blocks
// reserved. The old bytes are let go only once everything that could fail for want of room has been
// tried while they are whole: the growth (EFBIG) and the reservation (ENOSPC), each undone if what
// follows fails. Once emptied, a failure leaves the file empty and says so (m->emptied, which stays
// set until the whole create has worked).
static int size_created(mf_map_t *m, int64_t size, int64_t length) {
  int grown = length > size;
  int err = grown ? pf_set_size(m, m->file, length) : 0;
  if (err != 0) return err;
  err = reserve(m, 0, length);
  if (err == 0 && size > 0) err = pf_set_size(m, m->file, 0);
  if (err != 0) {
    if (grown && pf_set_size(m, m->file, size) != 0) { /* only zeros were added at the end */ }
    return err;
  }
  if (size == 0) return 0; // a new or empty file: sized and reserved above
  m->emptied = 1;
  err = pf_set_size(m, m->file, length);
  if (err != 0) return err;
  // Emptying gave the blocks back: reserve them again (what was just freed, so unless another
  // writer took the space meanwhile, this works).
  err = reserve(m, 0, length);
  if (err != 0 && pf_set_size(m, m->file, 0) != 0) { /* the error says the file was emptied; its size is moot */ }
  return err;
}

// Sets the file of a shared mapping to offset + length (its size was `size`), with the blocks it
// adds reserved. Nothing here needs the file to be able to do more than the size change itself:
// growth extends the file (EFBIG, ENOSPC, a file sealed against growth fail here, before anything
// else, and a reservation refused undoes the growth); a shrink, or the growth of a window that ended
// before the end of the file to a new end still inside it, cuts what is past the new end. The bytes
// a growing window adds that the file held past the old window end must read as zeros: they are
// zeroed in place (pf_zero), or, where the platform cannot, *zero_from and *zero_to say which for
// mf_resize to zero through the new mapping. The caller has checked the EBUSY rule.
static int set_file_size(mf_map_t *m, int64_t size, size_t length, int64_t *zero_from, int64_t *zero_to) {
  int64_t end = m->offset + (int64_t) length;
  int64_t keep = m->offset + (int64_t) min_size(length, m->length);
  int err = 0;
  *zero_from = *zero_to = 0;
  if (end > size) {
    err = pf_set_size(m, m->file, end);
    if (err == 0) err = reserve(m, size, end - size);
    if (err != 0) {
      if (pf_set_size(m, m->file, size) != 0) { /* only zeros were added at the end */ }
      return err;
    }
  } else if (end < size) {
    err = pf_set_size(m, m->file, end);
    if (err != 0) return err;
  }
  if (length <= m->length || size <= keep) return 0;
  int64_t upto = size < end ? size : end;
  err = pf_zero(m, m->file, keep, upto, end);
  int through_mapping = err == 1; // no hole punched: the caller zeros [keep, upto) through the new mapping
  // A punched hole gave its blocks back, and zeros written later need them: reserved either way.
  if (err >= 0) err = reserve(m, keep, upto - keep);
  if (err != 0) {
    if (end > size && pf_set_size(m, m->file, size) != 0) { /* only zeros were added at the end */ }
    return err;
  }
  if (through_mapping) {
    *zero_from = keep;
    *zero_to = upto;
  }
  return 0;
}

// ---- opening

// The window checks once the file's size is known.
static int check_window(int64_t size, int64_t offset, int64_t *length, int64_t max) {
  if (offset > size) return MF_EOFFSET;
  if (*length < 0) *length = size - offset;
  else if (*length > size - offset) return MF_EWINDOW;
  if (*length > max || (uint64_t) *length > SIZE_MAX / 2) return MF_ETOOBIG;
  return 0;
}

static int map_window(mf_map_t *m, int mode, int64_t length) {
  if (length == 0) return 0;
  char *base = NULL;
  int err = map_region(m, mode == MF_READ, (size_t) length, NULL, &base);
  if (err != 0) return err;
  m->base = base;
  m->length = (size_t) length;
  return 0;
}

// The create order: where a mapping may reach past the end of the file, the window is mapped before
// the file is sized, so that a map that fails (ENOMEM) leaves an existing file as it was; where it
// may not (Windows), the file is sized first, and a map that fails leaves it emptied (and says so).
static int place(mf_map_t *m, int mode, int64_t size, int64_t length) {
  int err = 0;
  if (mode == MF_CREATE && !pf_maps_past_end) err = size_created(m, size, length);
  if (err == 0) err = map_window(m, mode, length);
  if (err == 0 && mode == MF_CREATE && pf_maps_past_end) err = size_created(m, size, length);
  if (err == 0 && mode == MF_WRITE) err = reserve(m, m->offset, length);
  return err;
}

// Maps the window of m->file (mf_open's and mf_open_fd's common part); a failure releases the file
// (and removes it if mf_open created it: `path`).
static int map_file(mf_map_t *m, const char *path, int mode, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  pf_stat_t st;
  // From the size to the registration: no other thread's create or resize changes the size meanwhile.
  mf_registry_lock();
  int err = pf_stat(m, m->file, &st);
  if (err == 0 && st.type == PF_DIRECTORY) err = failing(m, "open", PF_EISDIR); // O_RDONLY opens one on Linux
  if (err == 0 && st.type == PF_OTHER) err = failing(m, "mmap", PF_ENODEV);     // what mmap answers for a fifo
  if (err == 0) {
    m->dev = st.dev;
    m->ino = st.ino;
    // Emptying the file would cut another live view.
    if (mode == MF_CREATE && mf_registry_end(m) > 0) err = failing(m, "open", PF_EBUSY);
  }
  if (err == 0) {
    *file_size = mode == MF_CREATE ? length : st.size;
    err = check_window(*file_size, offset, &length, max);
  }
  if (err == 0) {
    m->offset = offset;
    m->delta = (size_t) (offset % (int64_t) pf_granularity());
    err = place(m, mode, st.size, length);
  }
  if (err == 0 && mf_registry_add(m) != 0) err = failing(m, "malloc", MF_ENOMEM);
  mf_registry_unlock();
  if (err != 0) {
    mf_abort(m, path);
    return err;
  }
  m->emptied = 0;
  if (mode == MF_READ) {
    pf_close(m->file);
    m->file = MF_NO_FILE;
  }
  return 0;
}

static void start(mf_map_t *m, int mode, int flags) {
  mf_init(m);
  m->kind = mode == MF_READ ? MF_PRIVATE : MF_SHARED;
  m->sparse = (flags & MF_SPARSE) != 0;
}

int mf_open(mf_map_t *m, const char *path, int mode, int flags, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  start(m, mode, flags);
  // Never truncated here: an existing file is emptied only once everything else has worked.
  int err = pf_open(m, path, mode, &m->file);
  if (err != 0) {
    m->file = MF_NO_FILE;
    return err;
  }
  return map_file(m, path, mode, offset, length, max, file_size);
}

// The caller's descriptor is duplicated first, and everything after works on the duplicate: the
// caller may close its descriptor (or a worker thread may, meanwhile), and a later file that takes
// its number then never sees our write-back.
int mf_open_fd(mf_map_t *m, int fd, int mode, int flags, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  start(m, mode, flags);
  if (mode == MF_CREATE || fd < 0) return failing(m, "dup", PF_EBADF);
  int err = pf_dup(m, fd, mode, &m->file);
  if (err != 0) {
    m->file = MF_NO_FILE;
    return err;
  }
  return map_file(m, NULL, mode, offset, length, max, file_size);
}

int mf_alloc(mf_map_t *m, size_t length) {
  mf_init(m);
  m->kind = MF_ANON;
  if (length == 0) return 0;
  char *base = NULL;
  int err = alloc_region(m, length, &base);
  if (err != 0) return err;
  m->base = base;
  m->length = length;
  return 0;
}

// ---- writing back, hints

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

// An empty view has no pages to sync, but a resize may have changed the size: the file is made
// durable then.
int mf_sync(mf_map_t *m, size_t offset, size_t length) {
  if (m->kind != MF_SHARED) return 0;
  if (m->base == NULL) return m->file != MF_NO_FILE ? pf_fsync(m) : 0;
  size_t bytes;
  char *first = page_span(m, offset, length, &bytes);
  return bytes > 0 ? pf_sync(m, first, bytes) : 0;
}

int mf_flush(mf_map_t *m, size_t offset, size_t length) {
  if (m->kind != MF_SHARED || m->base == NULL) return 0;
  size_t bytes;
  char *first = page_span(m, offset, length, &bytes);
  return bytes > 0 ? pf_flush(m, first, bytes) : 0;
}

int mf_incore(mf_map_t *m, size_t offset, size_t length, uint64_t *resident, uint64_t *pages) {
  size_t page = mf_page_size(), bytes;
  char *first = page_span(m, offset, length, &bytes);
  *resident = 0;
  *pages = (bytes + page - 1) / page;
  if (m->base == NULL) return 0;
  for (uint64_t done = 0; done < *pages; done += PF_INCORE_BATCH) {
    uint64_t left = *pages - done;
    int err = pf_incore(m, first + done * page, left < PF_INCORE_BATCH ? (size_t) left : PF_INCORE_BATCH, resident);
    if (err != 0) return err;
  }
  return 0;
}

// A hint never changes what a view holds: 'dontneed' would throw away what was written to a private
// mapping ('r', alloc) on Linux, so it is only given for shared file mappings, whose dirty pages stay
// in the page cache.
int mf_advise(mf_map_t *m, int advice, size_t offset, size_t length) {
  if (m->base == NULL || advice < MF_NORMAL || advice > MF_DONTNEED) return 0;
  if (advice == MF_DONTNEED && m->kind != MF_SHARED) return 0;
  size_t bytes;
  char *first = page_span(m, offset, length, &bytes);
  return bytes > 0 ? pf_advise(m, advice, first, bytes) : 0;
}

// ---- resize

static int resize_anon(mf_map_t *m, size_t length, mf_map_t *old) {
  char *base = NULL;
  if (old == NULL && m->base != NULL && length > 0) {
    int err = pf_remap(m, m->base, m->length, length, &base);
    if (err < 0) return err;
    if (err == 0) {
      size_t before = m->length;
      m->base = base;
      m->length = length;
      // Shrinking keeps the last page: zero what was cut, so that a later growth reads zeros.
      if (length < before) {
        size_t page = mf_page_size();
        size_t end = min_size((length + page - 1) / page * page, before);
        memset(m->base + length, 0, end - length);
      }
      return 0;
    }
  }
  if (length > 0) {
    int err = alloc_region(m, length, &base);
    if (err != 0) return err;
    if (m->base != NULL) memcpy(base, m->base, min_size(length, m->length));
  }
  replace(m, base, length, old);
  return 0;
}

// Where a mapping may reach past the end of its file: map the new size first, then set the file's
// size, then drop the old mapping. Each step that fails undoes the one before, so the old view is
// never moved or touched by a failure. Both mappings show the same page cache, so nothing is copied.
static int resize_mapped(mf_map_t *m, int64_t size, size_t length, mf_map_t *old) {
  char *base = NULL;
  int64_t zero_from, zero_to;
  int err = length > 0 ? map_region(m, 0, length, NULL, &base) : 0;
  if (err == 0) err = set_file_size(m, size, length, &zero_from, &zero_to);
  if (err != 0) {
    if (base != NULL) pf_unmap(m->kind, base, m->delta + length);
    return err;
  }
  if (zero_to > zero_from) memset(base + m->delta + (zero_from - m->offset), 0, (size_t) (zero_to - zero_from));
  replace(m, base, length, old);
  return 0;
}

// Where it may not (Windows): unmap, set the size, map again; if that fails, map the old size back
// at the old address; if even that fails, the mapping is gone (mapping.h).
static int resize_unmapped(mf_map_t *m, int64_t size, size_t length) {
  char *before = m->base, *base = NULL;
  int64_t zero_from, zero_to;
  if (before != NULL) pf_unmap(m->kind, before, m->delta + m->length);
  m->base = NULL;
  int err = set_file_size(m, size, length, &zero_from, &zero_to);
  if (err == 0 && length > 0) err = map_region(m, 0, length, NULL, &base);
  if (err == 0) {
    if (zero_to > zero_from) memset(base + m->delta + (zero_from - m->offset), 0, (size_t) (zero_to - zero_from));
    m->base = base;
    m->length = length;
    return 0;
  }
  const char *syscall = m->syscall;
  if (pf_set_size(m, m->file, size) != 0) { /* the old window is inside the old size: mapped below */ }
  if (before != NULL && map_region(m, 0, m->length, before, &base) == 0) m->base = base;
  else m->length = 0;
  m->syscall = syscall;
  return err;
}

// The file is cut at the smaller window end; a cut below another live view's window end is refused
// first (EBUSY; mapping.h, registry), under the registry's lock, which the size change holds too.
int mf_resize(mf_map_t *m, size_t length, mf_map_t *old) {
  if (m->kind == MF_ANON) return resize_anon(m, length, old);
  if (m->kind != MF_SHARED || m->file == MF_NO_FILE) return failing(m, "mremap", PF_EINVAL);
  // The old view must stay mapped for a sync in flight, and Windows cannot size a mapped file.
  if (old != NULL && !pf_maps_past_end) return failing(m, "mremap", PF_EBUSY);
  int64_t keep = m->offset + (int64_t) min_size(length, m->length);
  pf_stat_t st;
  mf_registry_lock();
  int err = mf_registry_end(m) > keep ? failing(m, "ftruncate", PF_EBUSY) : pf_stat(m, m->file, &st);
  if (err == 0) err = pf_maps_past_end ? resize_mapped(m, st.size, length, old) : resize_unmapped(m, st.size, length);
  if (err == 0 || m->base == NULL) mf_registry_update(m);
  mf_registry_unlock();
  return err;
}
