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
// create empties an existing file before mapping it, so a create whose mapping fails after that
// leaves the file empty, and says so (m->emptied).
//
// Disk space: extending a file allocates its clusters (unless it is marked sparse), so a full disk is
// an error when the file is sized, never a fault when a page is written: nothing to reserve. There is
// no limit on the number of mappings but address space.

#include <uv.h> // first: it includes winsock2.h before windows.h

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <psapi.h>
#include <winternl.h>
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

int mf_room_for_region(void) {
  return 0;
}

// Maps the window of the open file (mf_open's and mf_open_fd's common part): m->file is `file`
// already, and a failure releases it (and removes the file if mf_open created it: `path`).
static int map_file(mf_map_t *m, HANDLE file, const char *path, int mode, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  BY_HANDLE_FILE_INFORMATION id;
  LARGE_INTEGER size;
  int err, locked = 0;

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
  if (id.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) { // a descriptor can be a directory's
    m->syscall = "open";
    err = UV_EISDIR;
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

  // Growing first, as posix.c does: a size the volume refuses (or has no room for) fails while the
  // old bytes are whole, and the growth is undone if emptying then fails.
  if (mode == MF_CREATE) {
    int64_t was = size.QuadPart;
    int grown = length > was;
    if (grown && !set_size(file, length)) {
      err = FAIL(m, "ftruncate");
      goto fail;
    }
    if (was != 0 && !set_size(file, 0)) {
      err = FAIL(m, "ftruncate");
      if (grown) set_size(file, was);
      goto fail;
    }
    m->emptied = was != 0;
    if (!set_size(file, length)) {
      err = FAIL(m, "ftruncate");
      goto fail;
    }
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
  m->emptied = 0;

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

int mf_open(mf_map_t *m, const char *path, int mode, int flags, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  DWORD access = mode == MF_READ ? GENERIC_READ : GENERIC_READ | GENERIC_WRITE;
  DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
  DWORD disposition = mode == MF_CREATE ? OPEN_ALWAYS : OPEN_EXISTING;
  int err;

  mf_init(m);
  m->kind = mode == MF_READ ? MF_PRIVATE : MF_SHARED;
  m->sparse = (flags & MF_SPARSE) != 0;
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
  return map_file(m, file, path, mode, offset, length, max, file_size);
}

typedef NTSTATUS (NTAPI *query_object_t)(HANDLE, OBJECT_INFORMATION_CLASS, PVOID, ULONG, PULONG);

// The access a handle was opened with; all of it where ntdll cannot tell (the mapping decides then).
static ACCESS_MASK granted_access(HANDLE handle) {
  static query_object_t query = NULL;
  PUBLIC_OBJECT_BASIC_INFORMATION info;
  if (query == NULL) {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (ntdll != NULL) query = (query_object_t) (void (*)(void)) GetProcAddress(ntdll, "NtQueryObject");
  }
  if (query == NULL || query(handle, ObjectBasicInformation, &info, sizeof(info), NULL) < 0) return ~(ACCESS_MASK) 0;
  return info.GrantedAccess;
}

// The runtime's descriptors are those of its C runtime, which this addon's C runtime does not share:
// libuv, which node.exe exports, knows their HANDLEs. What the descriptor was opened with decides the
// mode: Node opens 'a' and 'a+' with FILE_APPEND_DATA but without FILE_WRITE_DATA.
int mf_open_fd(mf_map_t *m, int fd, int mode, int flags, int64_t offset, int64_t length, int64_t max, int64_t *file_size) {
  mf_init(m);
  m->kind = mode == MF_READ ? MF_PRIVATE : MF_SHARED;
  m->sparse = (flags & MF_SPARSE) != 0;
  HANDLE given = mode == MF_CREATE || fd < 0 ? INVALID_HANDLE_VALUE : (HANDLE) uv_get_osfhandle(fd);
  if (given == INVALID_HANDLE_VALUE) {
    m->syscall = "dup";
    return UV_EBADF;
  }
  HANDLE own;
  if (!DuplicateHandle(GetCurrentProcess(), given, GetCurrentProcess(), &own, 0, FALSE, DUPLICATE_SAME_ACCESS)) return FAIL(m, "dup");
  m->file = (intptr_t) own;
  ACCESS_MASK access = granted_access(own);
  ACCESS_MASK needed = mode == MF_READ ? FILE_READ_DATA : FILE_READ_DATA | FILE_WRITE_DATA;
  if ((access & needed) != needed) {
    m->syscall = "mmap";
    mf_abort(m, NULL);
    return UV_EACCES;
  }
  return map_file(m, own, NULL, mode, offset, length, max, file_size);
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

// The view bytes [offset, offset + length), clamped to the view: their first byte, and *bytes.
static char *view_span(const mf_map_t *m, size_t offset, size_t length, size_t *bytes) {
  if (offset > m->length) offset = m->length;
  if (length > m->length - offset) length = m->length - offset;
  *bytes = length;
  return m->base + m->delta + offset;
}

// FlushViewOfFile starts writing the pages; FlushFileBuffers waits until they (and the metadata)
// are on the disk.
int mf_sync(mf_map_t *m, size_t offset, size_t length) {
  if (m->kind != MF_SHARED) return 0;
  if (m->base != NULL) {
    size_t bytes;
    char *first = view_span(m, offset, length, &bytes);
    if (bytes == 0) return 0; // FlushViewOfFile would take 0 as the whole view
    if (!FlushViewOfFile(first, bytes)) return FAIL(m, "msync");
  }
  if (m->file != MF_NO_FILE && !FlushFileBuffers(handle_of(m))) return FAIL(m, "fsync");
  return 0;
}

// A local file's views and ReadFile share the cache manager's pages already; FlushViewOfFile writes
// the pages to the file system, which makes them visible where it is remote too.
int mf_flush(mf_map_t *m, size_t offset, size_t length) {
  if (m->kind != MF_SHARED || m->base == NULL) return 0;
  size_t bytes;
  char *first = view_span(m, offset, length, &bytes);
  if (bytes > 0 && !FlushViewOfFile(first, bytes)) return FAIL(m, "msync");
  return 0;
}

// QueryWorkingSetEx over at most this many pages at a time.
#define INCORE_BATCH 1024

int mf_incore(mf_map_t *m, size_t offset, size_t length, uint64_t *resident, uint64_t *pages) {
  size_t page = mf_page_size(), bytes;
  char *from = view_span(m, offset, length, &bytes);
  char *first = from - (uintptr_t) from % page;
  *resident = 0;
  *pages = bytes == 0 ? 0 : ((uintptr_t) (from + bytes) - (uintptr_t) first + page - 1) / page;
  if (m->base == NULL) return 0;
  PSAPI_WORKING_SET_EX_INFORMATION info[INCORE_BATCH];
  for (uint64_t done = 0; done < *pages;) {
    size_t n = *pages - done < INCORE_BATCH ? (size_t) (*pages - done) : INCORE_BATCH;
    for (size_t i = 0; i < n; i++) info[i].VirtualAddress = first + (done + i) * page;
    if (!QueryWorkingSetEx(GetCurrentProcess(), info, (DWORD) (n * sizeof(info[0])))) return FAIL(m, "mincore");
    for (size_t i = 0; i < n; i++) *resident += info[i].VirtualAttributes.Valid;
    done += n;
  }
  return 0;
}

// Only 'willneed' has a Windows counterpart. 'dontneed' is a no-op: DiscardVirtualMemory and
// OfferVirtualMemory may throw the data away.
int mf_advise(mf_map_t *m, int advice, size_t offset, size_t length) {
  if (m->base == NULL || advice != MF_WILLNEED) return 0;
  WIN32_MEMORY_RANGE_ENTRY range;
  size_t bytes;
  range.VirtualAddress = view_span(m, offset, length, &bytes);
  range.NumberOfBytes = bytes;
  if (bytes > 0) PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0); // a hint: failure changes nothing
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
