// Windows implementation of platform.h: CreateFileW / CreateFileMappingW / MapViewOfFile /
// FlushViewOfFile + FlushFileBuffers / VirtualAlloc. Errors are GetLastError() translated by libuv.
//
// The file-mapping object is closed as soon as its view is mapped (the view keeps it alive), so a
// region is just its view. 'rw' and create keep the file HANDLE: FlushFileBuffers needs it for
// durability, and resize sets the size of the very file that is mapped.
//
// Windows cannot shrink a file while a view of it is mapped, so resize unmaps first, sets the size,
// then maps again; if that fails it maps the old size back at the old address (growth of a window
// that ended before the end of the file has then lost the bytes past the window: they read as zeros).
// It refuses (EBUSY) to resize while a syncAsync holds the old view, and, as posix.c, to cut a file
// under another view of this process (platform.h, registry), which Windows would refuse anyway.
// create empties an existing file before mapping it, so a create that fails after that leaves the
// file empty (POSIX leaves it untouched).

#include <uv.h> // first: it includes winsock2.h before windows.h

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

// Node on Windows exports libuv, so its translation of GetLastError() can be used here (only here).
#define FAIL(m, name) ((m)->syscall = (name), translate(GetLastError()))

// libuv's translation, but for ERROR_USER_MAPPED_FILE (1224: the file cannot be cut while a view of
// it is mapped, which Wine gives where Windows refuses in another way), which libuv calls UNKNOWN:
// that is EBUSY, as for a cut refused under another view of this process (platform.h, registry).
static int translate(DWORD error) {
  if (error == ERROR_USER_MAPPED_FILE) return UV_EBUSY;
  return uv_translate_sys_error((int) error);
}

const int MF_ENOMEM = UV_ENOMEM;
const int MF_ECANCELED = UV_ECANCELED;

void mf_init(mf_map_t *m) {
  memset(m, 0, sizeof(*m));
  m->kind = MF_NONE;
  m->base = NULL;
  m->file = MF_NO_FILE;
  m->syscall = NULL;
}

static SYSTEM_INFO *system_info(void) {
  static SYSTEM_INFO info;
  static int done = 0;
  if (!done) {
    GetSystemInfo(&info);
    done = 1;
  }
  return &info;
}

size_t mf_page_size(void) {
  return system_info()->dwPageSize;
}

size_t mf_granularity(void) {
  return system_info()->dwAllocationGranularity;
}

// A bound, not a measurement: the span of user addresses (128 TiB on 64-bit Windows). Probing the
// free address space by reserving ever larger regions took 57 s and 17 GB of memory per process
// under Wine, which keeps a record per reserved page; a view beyond what really fits fails with
// ENOMEM at MapViewOfFile anyway, which is the error to give.
size_t mf_max_map(void) {
  SYSTEM_INFO *info = system_info();
  size_t span = (size_t) info->lpMaximumApplicationAddress - (size_t) info->lpMinimumApplicationAddress + 1;
  return span / mf_granularity() * mf_granularity();
}

static WCHAR *wide(const char *path) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
  if (n <= 0) return NULL;
  WCHAR *w = malloc((size_t) n * sizeof(WCHAR));
  if (w != NULL && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, n) <= 0) {
    free(w);
    return NULL;
  }
  return w;
}

// Whether a path that was not found runs through a file, as in 'file.bin\child' (POSIX: ENOTDIR;
// Windows says ERROR_PATH_NOT_FOUND, which libuv calls ENOENT): the nearest ancestor that exists
// is not a directory.
static int under_a_file(const WCHAR *wpath) {
  size_t n = wcslen(wpath);
  WCHAR *parent = malloc((n + 1) * sizeof(WCHAR));
  int result = 0;
  if (parent == NULL) return 0;
  memcpy(parent, wpath, (n + 1) * sizeof(WCHAR));
  while (n > 0) {
    while (n > 0 && parent[n - 1] != L'\\' && parent[n - 1] != L'/') n--; // drop the last name
    while (n > 0 && (parent[n - 1] == L'\\' || parent[n - 1] == L'/')) n--; // and its separators
    if (n == 0 || parent[n - 1] == L':') break;
    parent[n] = 0;
    DWORD attributes = GetFileAttributesW(parent);
    if (attributes != INVALID_FILE_ATTRIBUTES) {
      result = !(attributes & FILE_ATTRIBUTE_DIRECTORY);
      break;
    }
  }
  free(parent);
  return result;
}

static HANDLE handle_of(const mf_map_t *m) {
  return (HANDLE) m->file;
}

static BOOL set_size(HANDLE file, int64_t size) {
  FILE_END_OF_FILE_INFO info;
  info.EndOfFile.QuadPart = size;
  return SetFileInformationByHandle(file, FileEndOfFileInfo, &info, sizeof(info));
}

// Maps [offset - delta, offset + length) of the file at `at` (NULL: anywhere).
static int map_view(mf_map_t *m, HANDLE file, int copy, size_t length, void *at, char **base) {
  uint64_t end = (uint64_t) m->offset + length;
  uint64_t start = (uint64_t) m->offset - m->delta;
  HANDLE section = CreateFileMappingW(file, NULL, copy ? PAGE_WRITECOPY : PAGE_READWRITE, (DWORD) (end >> 32), (DWORD) end, NULL);
  if (section == NULL) return FAIL(m, "CreateFileMapping");
  void *p = MapViewOfFileEx(section, copy ? FILE_MAP_COPY : FILE_MAP_WRITE, (DWORD) (start >> 32), (DWORD) start, m->delta + length, at);
  int err = p == NULL ? FAIL(m, "MapViewOfFile") : 0;
  CloseHandle(section); // the view keeps the mapping object alive
  *base = p;
  return err;
}

int mf_open(mf_map_t *m, const char *path, int mode, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  DWORD access = mode == MF_READ ? GENERIC_READ : GENERIC_READ | GENERIC_WRITE;
  DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
  DWORD disposition = mode == MF_CREATE ? OPEN_ALWAYS : OPEN_EXISTING;
  BY_HANDLE_FILE_INFORMATION id;
  LARGE_INTEGER size;
  int err, locked = 0;

  mf_init(m);
  m->kind = mode == MF_READ ? MF_PRIVATE : MF_SHARED;
  WCHAR *wpath = wide(path);
  if (wpath == NULL) {
    m->syscall = "open";
    return UV_EINVAL;
  }
  HANDLE file = CreateFileW(wpath, access, share, NULL, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
  if (file == INVALID_HANDLE_VALUE) {
    DWORD error = GetLastError();
    err = FAIL(m, "open");
    DWORD attributes = GetFileAttributesW(wpath);
    if (attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY)) err = UV_EISDIR;
    else if ((error == ERROR_PATH_NOT_FOUND || error == ERROR_FILE_NOT_FOUND) && under_a_file(wpath)) err = UV_ENOTDIR;
    free(wpath);
    return err;
  }
  if (mode == MF_CREATE && GetLastError() != ERROR_ALREADY_EXISTS) m->created = 1;
  free(wpath);
  m->file = (intptr_t) file;

  if (GetFileType(file) != FILE_TYPE_DISK) {
    m->syscall = "mmap";
    err = UV_ENODEV;
    goto fail;
  }
  // From the size to the registration: no other thread's create or resize changes the size meanwhile.
  mf_registry_lock();
  locked = 1;
  if (!GetFileInformationByHandle(file, &id) || !GetFileSizeEx(file, &size)) {
    err = FAIL(m, "fstat");
    goto fail;
  }
  m->dev = id.dwVolumeSerialNumber;
  m->ino = ((uint64_t) id.nFileIndexHigh << 32) | id.nFileIndexLow;
  if (mode == MF_CREATE && mf_registry_end(m) > 0) { // Windows would refuse to empty a mapped file
    m->syscall = "open";
    err = UV_EBUSY;
    goto fail;
  }
  *file_size = mode == MF_CREATE ? length : size.QuadPart;
  err = mf_check_window(*file_size, offset, &length, max);
  if (err != 0) goto fail;

  // Growing first, as posix.c does: a size the volume refuses fails while the old bytes are whole.
  if (mode == MF_CREATE && ((length > size.QuadPart && !set_size(file, length)) ||
      (size.QuadPart != 0 && !set_size(file, 0)) || !set_size(file, length))) {
    err = FAIL(m, "ftruncate");
    goto fail;
  }

  m->offset = offset;
  m->delta = (size_t) (offset % (int64_t) mf_granularity());
  if (length > 0) {
    err = map_view(m, file, mode == MF_READ, (size_t) length, NULL, &m->base);
    if (err != 0) goto fail;
  }
  m->length = (size_t) length;
  if (mf_registry_add(m) != 0) {
    m->syscall = "malloc";
    err = UV_ENOMEM;
    goto fail;
  }
  mf_registry_unlock();

  if (mode == MF_READ) {
    CloseHandle(file);
    m->file = MF_NO_FILE;
  }
  return 0;

fail:
  if (locked) mf_registry_unlock();
  mf_abort(m, path);
  return err;
}

int mf_alloc(mf_map_t *m, size_t length) {
  mf_init(m);
  m->kind = MF_ANON;
  if (length == 0) return 0;
  void *p = VirtualAlloc(NULL, length, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  if (p == NULL) return FAIL(m, "VirtualAlloc");
  m->base = p;
  m->length = length;
  return 0;
}

// FlushViewOfFile starts writing the pages; FlushFileBuffers waits until they (and the metadata)
// are on the disk.
int mf_sync(mf_map_t *m, size_t offset, size_t length) {
  if (m->kind != MF_SHARED) return 0;
  if (m->base != NULL) {
    if (offset > m->length) offset = m->length;
    if (length > m->length - offset) length = m->length - offset;
    if (length == 0) return 0; // FlushViewOfFile would take 0 as the whole view
    if (!FlushViewOfFile(m->base + m->delta + offset, length)) return FAIL(m, "msync");
  }
  if (m->file != MF_NO_FILE && !FlushFileBuffers(handle_of(m))) return FAIL(m, "fsync");
  return 0;
}

// Only 'willneed' has a Windows counterpart. 'dontneed' is a no-op: DiscardVirtualMemory and
// OfferVirtualMemory may throw the data away.
int mf_advise(mf_map_t *m, int advice) {
  if (m->base == NULL || advice != MF_WILLNEED) return 0;
  WIN32_MEMORY_RANGE_ENTRY range;
  range.VirtualAddress = m->base;
  range.NumberOfBytes = m->delta + m->length;
  PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0); // a hint: failure changes nothing
  return 0;
}

static void release_region(int kind, char *base) {
  if (base == NULL) return;
  if (kind == MF_ANON) VirtualFree(base, 0, MEM_RELEASE);
  else UnmapViewOfFile(base);
}

static int resize_anon(mf_map_t *m, size_t length, mf_map_t *old) {
  char *base = NULL;
  if (length > 0) {
    base = VirtualAlloc(NULL, length, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (base == NULL) return FAIL(m, "VirtualAlloc");
    if (m->base != NULL) memcpy(base, m->base, length < m->length ? length : m->length);
  }
  mf_map_t prev = *m;
  prev.file = MF_NO_FILE;
  prev.reg = NULL;
  m->base = base;
  m->length = length;
  if (old != NULL) *old = prev;
  else mf_unmap(&prev);
  return 0;
}

int mf_resize(mf_map_t *m, size_t length, mf_map_t *old) {
  if (m->kind == MF_ANON) return resize_anon(m, length, old);
  if (m->kind != MF_SHARED || m->file == MF_NO_FILE) {
    m->syscall = "mremap";
    return UV_EINVAL;
  }
  if (old != NULL) { // the old view must stay, and Windows cannot resize a mapped file
    m->syscall = "mremap";
    return UV_EBUSY;
  }
  HANDLE file = handle_of(m);
  LARGE_INTEGER size;
  int64_t end = m->offset + (int64_t) length;
  int64_t keep = m->offset + (int64_t) (length < m->length ? length : m->length);
  mf_registry_lock();
  if (mf_registry_end(m) > keep) { // another view of this process ends past the cut (platform.h)
    mf_registry_unlock();
    m->syscall = "ftruncate";
    return UV_EBUSY;
  }
  if (!GetFileSizeEx(file, &size)) {
    mf_registry_unlock();
    return FAIL(m, "fstat");
  }

  char *before = m->base;
  if (before != NULL) UnmapViewOfFile(before);
  m->base = NULL;

  // Growth reads zeros, also where the window ended before the end of the file: as in posix.c, the
  // bytes past the window are cut first, once the growth itself has been tried.
  char *base = NULL;
  int err = 0;
  if (length > m->length && size.QuadPart > keep &&
      ((end > size.QuadPart && !set_size(file, end)) || !set_size(file, keep))) err = FAIL(m, "ftruncate");
  else if (!set_size(file, end)) err = FAIL(m, "ftruncate");
  else if (length > 0) err = map_view(m, file, 0, length, NULL, &base);
  if (err == 0) {
    m->base = base;
    m->length = length;
    mf_registry_update(m);
    mf_registry_unlock();
    return 0;
  }

  // Put the old view back where it was; if that fails, the mapping is gone (see platform.h).
  set_size(file, size.QuadPart);
  if (before != NULL && map_view(m, file, 0, m->length, before, &base) == 0) {
    m->base = base;
  } else if (before != NULL) {
    m->length = 0;
    mf_registry_update(m);
  }
  mf_registry_unlock();
  return err;
}

void mf_unmap(mf_map_t *m) {
  release_region(m->kind, m->base);
  m->base = NULL;
  m->length = 0;
  mf_registry_remove(m);
}

void mf_close(mf_map_t *m) {
  mf_unmap(m);
  if (m->file != MF_NO_FILE) CloseHandle(handle_of(m));
  m->file = MF_NO_FILE;
}

void mf_abort(mf_map_t *m, const char *path) {
  int created = m->created;
  mf_close(m);
  m->created = 0;
  if (!created || path == NULL) return;
  WCHAR *wpath = wide(path);
  if (wpath != NULL) DeleteFileW(wpath);
  free(wpath);
}
