// Windows system calls of platform.h: CreateFileW / CreateFileMappingW / MapViewOfFile /
// FlushViewOfFile + FlushFileBuffers / VirtualAlloc. Errors are GetLastError() translated by libuv.
// What they are called for, and in which order, is mapping.c's.
//
// The file-mapping object is closed as soon as its view is mapped (the view keeps it alive), so a
// region is just its view. 'rw' and create keep the file HANDLE: FlushFileBuffers needs it for
// durability, and resize sets the size of the very file that is mapped.
//
// Windows maps a file no further than its end and cannot shrink a file while a view of it is mapped
// (pf_maps_past_end 0): mapping.c sizes before it maps, and resize unmaps first, sets the size, then
// maps again; if that fails it maps the old size back at the old address (growth of a window that
// ended before the end of the file has then lost the bytes past the window: they read as zeros).
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
// that is EBUSY, as for a cut refused under another view of this process (mapping.h, registry); and
// for running out of commit charge, ENOMEM.
static int translate(DWORD error) {
  if (error == ERROR_USER_MAPPED_FILE) return UV_EBUSY;
  // Out of commit charge (VirtualAlloc, MapViewOfFile of a copy-on-write view), which libuv calls UNKNOWN.
  if (error == ERROR_COMMITMENT_LIMIT || error == ERROR_NOT_ENOUGH_QUOTA) return UV_ENOMEM;
  return uv_translate_sys_error((int) error);
}

const int MF_ENOMEM = UV_ENOMEM;
const int MF_ECANCELED = UV_ECANCELED;
const int PF_EBUSY = UV_EBUSY, PF_EINVAL = UV_EINVAL, PF_EISDIR = UV_EISDIR, PF_ENODEV = UV_ENODEV, PF_EBADF = UV_EBADF;
const int pf_maps_past_end = 0;

static SRWLOCK lock = SRWLOCK_INIT;
void pf_lock(void) { AcquireSRWLockExclusive(&lock); }
void pf_unlock(void) { ReleaseSRWLockExclusive(&lock); }

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

size_t pf_granularity(void) {
  return system_info()->dwAllocationGranularity;
}

// A bound, not a measurement: the span of user addresses (128 TiB on 64-bit Windows). Probing the
// free address space by reserving ever larger regions took 57 s and 17 GB of memory per process
// under Wine, which keeps a record per reserved page; a view beyond what really fits fails with
// ENOMEM at MapViewOfFile anyway, which is the error to give.
size_t mf_max_map(void) {
  SYSTEM_INFO *info = system_info();
  size_t span = (size_t) info->lpMaximumApplicationAddress - (size_t) info->lpMinimumApplicationAddress + 1;
  return span / pf_granularity() * pf_granularity();
}

int pf_room_for_region(void) {
  return 0;
}

// ---- files

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

int pf_open(mf_map_t *m, const char *path, int mode, intptr_t *file) {
  DWORD access = mode == MF_READ ? GENERIC_READ : GENERIC_READ | GENERIC_WRITE;
  DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
  DWORD disposition = mode == MF_CREATE ? OPEN_ALWAYS : OPEN_EXISTING;
  WCHAR *wpath = wide(path);
  if (wpath == NULL) {
    m->syscall = "open";
    return UV_EINVAL;
  }
  HANDLE handle = CreateFileW(wpath, access, share, NULL, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
  if (handle == INVALID_HANDLE_VALUE) {
    DWORD error = GetLastError();
    int err = FAIL(m, "open");
    DWORD attributes = GetFileAttributesW(wpath);
    if (attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY)) err = UV_EISDIR;
    else if ((error == ERROR_PATH_NOT_FOUND || error == ERROR_FILE_NOT_FOUND) && under_a_file(wpath)) err = UV_ENOTDIR;
    free(wpath);
    return err;
  }
  if (mode == MF_CREATE && GetLastError() != ERROR_ALREADY_EXISTS) m->created = 1;
  free(wpath);
  *file = (intptr_t) handle;
  return 0;
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
int pf_dup(mf_map_t *m, int fd, int mode, intptr_t *file) {
  HANDLE given = (HANDLE) uv_get_osfhandle(fd);
  if (given == INVALID_HANDLE_VALUE) {
    m->syscall = "dup";
    return UV_EBADF;
  }
  HANDLE own;
  if (!DuplicateHandle(GetCurrentProcess(), given, GetCurrentProcess(), &own, 0, FALSE, DUPLICATE_SAME_ACCESS)) return FAIL(m, "dup");
  ACCESS_MASK needed = mode == MF_READ ? FILE_READ_DATA : FILE_READ_DATA | FILE_WRITE_DATA;
  if ((granted_access(own) & needed) != needed) {
    CloseHandle(own);
    m->syscall = "mmap";
    return UV_EACCES;
  }
  *file = (intptr_t) own;
  return 0;
}

void pf_close(intptr_t file) {
  CloseHandle((HANDLE) file);
}

void pf_unlink(const char *path) {
  WCHAR *wpath = wide(path);
  if (wpath != NULL) DeleteFileW(wpath);
  free(wpath);
}

int pf_stat(mf_map_t *m, intptr_t file, pf_stat_t *st) {
  BY_HANDLE_FILE_INFORMATION id;
  LARGE_INTEGER size;
  st->type = PF_OTHER;
  if (GetFileType((HANDLE) file) != FILE_TYPE_DISK) return 0;
  if (!GetFileInformationByHandle((HANDLE) file, &id) || !GetFileSizeEx((HANDLE) file, &size)) return FAIL(m, "fstat");
  st->type = id.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY ? PF_DIRECTORY : PF_REGULAR; // a descriptor can be a directory's
  st->size = size.QuadPart;
  st->dev = id.dwVolumeSerialNumber;
  st->ino = ((uint64_t) id.nFileIndexHigh << 32) | id.nFileIndexLow;
  return 0;
}

int pf_set_size(mf_map_t *m, intptr_t file, int64_t size) {
  FILE_END_OF_FILE_INFO info;
  info.EndOfFile.QuadPart = size;
  if (!SetFileInformationByHandle((HANDLE) file, FileEndOfFileInfo, &info, sizeof(info))) return FAIL(m, "ftruncate");
  return 0;
}

int pf_reserve(mf_map_t *m, intptr_t file, int64_t offset, int64_t length) {
  (void) m, (void) file, (void) offset, (void) length;
  return 0; // extending a file allocated its clusters
}

// Cut at `from`, then grown back to `size`: [from, size) reads as zeros.
int pf_zero(mf_map_t *m, intptr_t file, int64_t from, int64_t to, int64_t size) {
  (void) to;
  int err = pf_set_size(m, file, from);
  return err != 0 ? err : pf_set_size(m, file, size);
}

// ---- regions

int pf_map(mf_map_t *m, intptr_t file, int copy, int64_t start, size_t size, void *at, char **base) {
  uint64_t end = (uint64_t) start + size;
  HANDLE section = CreateFileMappingW((HANDLE) file, NULL, copy ? PAGE_WRITECOPY : PAGE_READWRITE, (DWORD) (end >> 32), (DWORD) end, NULL);
  if (section == NULL) return FAIL(m, "CreateFileMapping");
  void *p = MapViewOfFileEx(section, copy ? FILE_MAP_COPY : FILE_MAP_WRITE, (DWORD) ((uint64_t) start >> 32), (DWORD) start, size, at);
  int err = p == NULL ? FAIL(m, "MapViewOfFile") : 0;
  CloseHandle(section); // the view keeps the mapping object alive
  *base = p;
  return err;
}

int pf_alloc(mf_map_t *m, size_t size, char **base) {
  void *p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  if (p == NULL) return FAIL(m, "VirtualAlloc");
  *base = p;
  return 0;
}

int pf_remap(mf_map_t *m, char *base, size_t size, size_t to, char **moved) {
  (void) m, (void) base, (void) size, (void) to, (void) moved;
  return 1;
}

void pf_unmap(int kind, char *base, size_t size) {
  (void) size;
  if (kind == MF_ANON) VirtualFree(base, 0, MEM_RELEASE);
  else UnmapViewOfFile(base);
}

// ---- writing back, hints

// FlushViewOfFile starts writing the pages; FlushFileBuffers waits until they (and the metadata)
// are on the disk.
int pf_sync(mf_map_t *m, char *first, size_t bytes) {
  if (!FlushViewOfFile(first, bytes)) return FAIL(m, "msync");
  return pf_fsync(m);
}

int pf_fsync(mf_map_t *m) {
  return FlushFileBuffers((HANDLE) m->file) ? 0 : FAIL(m, "fsync");
}

// A local file's views and ReadFile share the cache manager's pages already; FlushViewOfFile writes
// the pages to the file system, which makes them visible where it is remote too.
int pf_flush(mf_map_t *m, char *first, size_t bytes) {
  return FlushViewOfFile(first, bytes) ? 0 : FAIL(m, "msync");
}

int pf_incore(mf_map_t *m, char *first, size_t pages, uint64_t *resident) {
  PSAPI_WORKING_SET_EX_INFORMATION info[PF_INCORE_BATCH];
  for (size_t i = 0; i < pages; i++) info[i].VirtualAddress = first + i * mf_page_size();
  if (!QueryWorkingSetEx(GetCurrentProcess(), info, (DWORD) (pages * sizeof(info[0])))) return FAIL(m, "mincore");
  for (size_t i = 0; i < pages; i++) *resident += info[i].VirtualAttributes.Valid;
  return 0;
}

// Only 'willneed' has a Windows counterpart. 'dontneed' is a no-op: DiscardVirtualMemory and
// OfferVirtualMemory may throw the data away.
int pf_advise(mf_map_t *m, int advice, char *first, size_t bytes) {
  (void) m;
  if (advice != MF_WILLNEED) return 0;
  WIN32_MEMORY_RANGE_ENTRY range;
  range.VirtualAddress = first;
  range.NumberOfBytes = bytes;
  PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0); // a hint: failure changes nothing
  return 0;
}
