// mmapfile's Node-API glue: the exports. Every export has the same shape: fetch the arguments, check
// them, make one call of the mappings (mapping.h), throw or return (glue.h: args.c for arguments and
// errors, handles.c for the lifetime). src/native/backend.ts checks arguments first; the checks here
// only keep C safe. Numbers are integers in [min, 2^53 - 1] read as int64.
//
//   map(path, mode, offset, length, maxBytes, flags) -> [ArrayBuffer, handle]
//       mode MODE_READ (private copy-on-write), MODE_WRITE (shared), MODE_CREATE (shared; the file is
//       created or emptied to `length` zero bytes; offset must be 0). length -1: to the end of the file.
//       flags: MAP_AUTOCLOSE (gc*: when the buffer is collected, write back durably first), MAP_SPARSE
//       (reserve no disk blocks: mapping.h, mf_open). A create that failed after emptying an existing
//       file throws an error with `emptied: true`.
//   mapFd(fd, mode, offset, length, maxBytes, flags) -> [ArrayBuffer, handle]
//       as map, over the runtime's open descriptor fd (MODE_READ or MODE_WRITE): the mapping works on a
//       duplicate (mapping.h, mf_open_fd), so fd stays the caller's; the access fd was opened with
//       must allow the mode (EACCES otherwise)
//   alloc(length, maxBytes) -> [ArrayBuffer, handle]     zero-filled anonymous memory
//   close(handle, buffer)             writes back ('rw'/create), detaches `buffer`, unmaps at once.
//                                     If writing back fails, it throws and changes nothing, so
//                                     that close can be retried. A second close is a no-op.
//   sync(handle, offset, length, durable)   writes back [offset, offset + length) of the view, durably
//                                     (durable 1), or (0) only visibly to every other reader of the
//                                     file, without waiting for the disk (msync MS_ASYNC)
//   syncAsync(handle, offset, length) -> Promise<void>     the durable sync on the libuv thread pool
//   incore(handle, offset, length) -> [resident, pages]    pages of that range in memory, of all
//   advise(handle, advice, offset, length)   advice: one of ADVICE_NORMAL ... ADVICE_DONTNEED
//   resize(handle, buffer, length, maxBytes) -> ArrayBuffer    the handle stays; `buffer` is detached.
//                                     'rw'/create (the file becomes offset + length) and alloc only.
//                                     On failure nothing changed. create and resize fail with EBUSY
//                                     where they would cut the file under another live mapping of
//                                     this process (mapping.h, registry; native/registry.c).
//   pageSize                          a number
//   maxMapBytes                       a bound on the largest region the process can map
//                                     (mapping.h: mf_max_map)
//   MODE_*, MAP_*, ADVICE_*, WINDOW_* the numbers above, and the `window` codes of errors below:
//                                     src/native/backend.ts reads them from here
//
// `buffer` is the mapping's current buffer (anything else is a TypeError: detaching is for good).
// A view of 0 bytes maps nothing: its buffer is a plain empty ArrayBuffer.
//
// Errors carry codes and numbers; src/front/errors.ts words them (src/native/backend.ts):
// - file-system failures: an Error with `errno` (negative, libuv's numbering: -2 for ENOENT on Linux)
//   and `syscall` ('open'), and no `code`: the glue calls no libuv (Bun and Deno do not export it),
//   so the backend sets `code` ('ENOENT') and `message` from util.getSystemErrorMap();
// - a window that does not fit the file: an Error with `window` (WINDOW_OFFSET: offset past the end,
//   WINDOW_END: window past the end, WINDOW_TOO_BIG: larger than maxBytes), `offset`, `length`
//   (what the window would be), `size` (the file's) and `maxBytes`;
// - where external ArrayBuffers are refused (V8 memory cage, e.g. Electron), map, alloc and resize
//   throw an Error with code 'ERR_MMAPFILE_NO_EXTERNAL_BUFFERS';
// - arguments that src/front would have refused: TypeError or RangeError asserts ("offset must be a
//   number"); a closed handle has code 'ERR_MMAPFILE_CLOSED'.
//
// Test builds only (binding.gyp: mmapfile_test_hooks, which `npm run build:addon` sets; the
// prebuilds that ship do not): MMAPFILE_INJECT_NO_EXTERNAL_BUFFERS=1 when the addon loads makes it
// act as under a memory cage, and the addon exports `testHooks: true`.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glue.h"

typedef struct {
  mapping_t *m;
  mf_map_t snap; // the region as it was when queued: it stays mapped until the work completes
  size_t offset;
  size_t length;
  int err;
  napi_deferred deferred;
  napi_async_work work;
} sync_work_t;

static napi_value length_assert(napi_env env) {
  napi_throw_range_error(env, NULL, "length must be an integer <= maxBytes");
  return NULL;
}

static napi_value js_map(napi_env env, napi_callback_info info) {
  ARGS("map", 6)
  ARG_INT64(mode, 1, 0)
  ARG_INT64(offset, 2, 0)
  ARG_INT64(length, 3, -1)
  ARG_INT64(maxBytes, 4, 0)
  ARG_INT64(flags, 5, 0)
  if (mode > MF_CREATE || (mode == MF_CREATE && (offset != 0 || length < 0)) || flags > (MAP_AUTOCLOSE | MAP_SPARSE)) {
    napi_throw_type_error(env, NULL, "mode and flags must be MODE_* and MAP_*, and create needs offset 0 and a length");
    return NULL;
  }
  char *path = get_path(env, argv[0]);
  if (path == NULL) return NULL;
  mapping_t *m = new_mapping(env);
  if (m == NULL) {
    free(path);
    return NULL;
  }

  int64_t size = 0;
  int err = mf_open(&m->map, path, (int) mode, (flags & MAP_SPARSE) ? MF_SPARSE : 0, offset, length, maxBytes, &size);
  if (err != 0) {
    throw_open_error(env, err, &m->map, offset, length, size, maxBytes);
    free(m);
    free(path);
    return NULL;
  }
  m->autoclose = (flags & MAP_AUTOCLOSE) != 0;
  if (mode != MF_READ) m->path = path; // kept for the finalizer's warning; freed with m
  else free(path);
  return wrap(env, m, m->path);
}

static napi_value js_mapFd(napi_env env, napi_callback_info info) {
  ARGS("mapFd", 6)
  ARG_INT64(fd, 0, 0)
  ARG_INT64(mode, 1, 0)
  ARG_INT64(offset, 2, 0)
  ARG_INT64(length, 3, -1)
  ARG_INT64(maxBytes, 4, 0)
  ARG_INT64(flags, 5, 0)
  if (fd > INT32_MAX || mode > MF_WRITE || flags > (MAP_AUTOCLOSE | MAP_SPARSE)) {
    napi_throw_type_error(env, NULL, "fd must be a descriptor, mode MODE_READ or MODE_WRITE, flags MAP_*");
    return NULL;
  }
  mapping_t *m = new_mapping(env);
  if (m == NULL) return NULL;
  int64_t size = 0;
  int err = mf_open_fd(&m->map, (int) fd, (int) mode, (flags & MAP_SPARSE) ? MF_SPARSE : 0, offset, length, maxBytes, &size);
  if (err != 0) {
    throw_open_error(env, err, &m->map, offset, length, size, maxBytes);
    free(m);
    return NULL;
  }
  m->autoclose = (flags & MAP_AUTOCLOSE) != 0;
  if (mode == MF_WRITE && (m->path = malloc(32)) != NULL) snprintf(m->path, 32, "fd %d", (int) fd); // for the finalizer's warning
  return wrap(env, m, NULL);
}

static napi_value js_alloc(napi_env env, napi_callback_info info) {
  ARGS("alloc", 2)
  ARG_INT64(length, 0, 0)
  ARG_INT64(maxBytes, 1, 0)
  if (length > maxBytes) return length_assert(env);
  mapping_t *m = new_mapping(env);
  if (m == NULL) return NULL;
  int err = mf_alloc(&m->map, (size_t) length);
  if (err != 0) {
    throw_sys(env, err, m->map.syscall);
    free(m);
    return NULL;
  }
  return wrap(env, m, NULL);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS("close", 2)
  ARG_MAPPING(m, 0, 0)
  ARG_BUFFER_OF(m, 1)
  if (m->closed) return NULL;
  int err = mf_sync(&m->map, 0, m->map.length);
  if (err != 0) return throw_sys(env, err, m->map.syscall); // still mapped: close can be retried
  napi_detach_arraybuffer(env, argv[1]);
  release(m);
  return NULL;
}

static napi_value js_sync(napi_env env, napi_callback_info info) {
  ARGS("sync", 4)
  ARG_MAPPING(m, 0, 1)
  ARG_INT64(offset, 1, 0)
  ARG_INT64(length, 2, 0)
  ARG_INT64(durable, 3, 0)
  int err = durable ? mf_sync(&m->map, (size_t) offset, (size_t) length) : mf_flush(&m->map, (size_t) offset, (size_t) length);
  return err != 0 ? throw_sys(env, err, m->map.syscall) : NULL;
}

static napi_value js_incore(napi_env env, napi_callback_info info) {
  ARGS("incore", 3)
  ARG_MAPPING(m, 0, 1)
  ARG_INT64(offset, 1, 0)
  ARG_INT64(length, 2, 0)
  uint64_t resident = 0, pages = 0;
  int err = mf_incore(&m->map, (size_t) offset, (size_t) length, &resident, &pages);
  if (err != 0) return throw_sys(env, err, m->map.syscall);
  napi_value result, value;
  CALL(napi_create_array_with_length(env, 2, &result));
  CALL(napi_create_double(env, (double) resident, &value));
  CALL(napi_set_element(env, result, 0, value));
  CALL(napi_create_double(env, (double) pages, &value));
  CALL(napi_set_element(env, result, 1, value));
  return result;
}

static void sync_execute(napi_env env, void *data) {
  sync_work_t *w = data;
  (void) env;
  w->err = mf_sync(&w->snap, w->offset, w->length);
}

static void sync_complete(napi_env env, napi_status status, void *data) {
  sync_work_t *w = data;
  mapping_t *m = w->m;
  napi_value value = NULL;
  if (w->snap.redirty) m->map.redirty = 1; // the worker's msync failed (mapping.h, mf_sync)
  if (status == napi_ok && w->err == 0) {
    napi_get_undefined(env, &value);
    napi_resolve_deferred(env, w->deferred, value);
  } else {
    value = sys_error(env, w->err != 0 ? w->err : MF_ECANCELED, w->snap.syscall != NULL ? w->snap.syscall : "msync");
    if (value == NULL) napi_get_undefined(env, &value);
    napi_reject_deferred(env, w->deferred, value);
  }
  napi_delete_async_work(env, w->work);
  if (--m->pending == 0) release_deferred(m);
  unref(m);
  free(w);
}

static napi_value js_syncAsync(napi_env env, napi_callback_info info) {
  ARGS("syncAsync", 3)
  ARG_MAPPING(m, 0, 1)
  ARG_INT64(offset, 1, 0)
  ARG_INT64(length, 2, 0)
  napi_value promise, name, undefined;
  sync_work_t *w = calloc(1, sizeof(*w));
  if (w == NULL) return throw_sys(env, MF_ENOMEM, "malloc");
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok) {
    free(w);
    return fail(env);
  }
  if (m->map.kind != MF_SHARED) { // nothing to write back
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, w->deferred, undefined);
    free(w);
    return promise;
  }
  w->m = m;
  w->snap = m->map;
  w->offset = (size_t) offset;
  w->length = (size_t) length;
  if (napi_create_string_utf8(env, "mmapfile.syncAsync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, sync_execute, sync_complete, w, &w->work) != napi_ok) {
    napi_value error = sys_error(env, MF_ENOMEM, "uv_queue_work");
    napi_reject_deferred(env, w->deferred, error);
    free(w);
    return promise;
  }
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    napi_reject_deferred(env, w->deferred, sys_error(env, MF_ENOMEM, "uv_queue_work"));
    napi_delete_async_work(env, w->work);
    free(w);
    return promise;
  }
  m->refs++;
  m->pending++;
  return promise;
}

static napi_value js_advise(napi_env env, napi_callback_info info) {
  ARGS("advise", 4)
  ARG_MAPPING(m, 0, 1)
  ARG_INT64(advice, 1, 0)
  ARG_INT64(offset, 2, 0)
  ARG_INT64(length, 3, 0)
  if (advice > MF_DONTNEED) {
    napi_throw_range_error(env, NULL, "advice must be one of ADVICE_*");
    return NULL;
  }
  int err = mf_advise(&m->map, (int) advice, (size_t) offset, (size_t) length);
  return err != 0 ? throw_sys(env, err, m->map.syscall) : NULL;
}

static napi_value js_resize(napi_env env, napi_callback_info info) {
  ARGS("resize", 4)
  ARG_MAPPING(m, 0, 1)
  ARG_BUFFER_OF(m, 1)
  ARG_INT64(length, 2, 0)
  ARG_INT64(maxBytes, 3, 0)
  if (m->map.kind != MF_SHARED && m->map.kind != MF_ANON) {
    napi_throw_type_error(env, NULL, "handle must be a MODE_WRITE, MODE_CREATE or alloc mapping");
    return NULL;
  }
  if (length > maxBytes) return length_assert(env);

  mf_map_t *old = NULL; // while a syncAsync runs, the old region must stay mapped
  if (m->pending > 0) {
    mf_map_t *zombies = realloc(m->zombies, (m->nzombies + 1) * sizeof(*zombies));
    if (zombies == NULL) return throw_sys(env, MF_ENOMEM, "malloc");
    m->zombies = zombies;
    old = &zombies[m->nzombies];
    mf_init(old);
  }
  size_t before = m->map.length;
  int err = mf_resize(&m->map, (size_t) length, old);
  if (err != 0) {
    if (before != 0 && m->map.base == NULL) { // the old view could not be restored (Windows)
      napi_detach_arraybuffer(env, argv[1]);
      release(m);
    }
    return throw_sys(env, err, m->map.syscall);
  }
  if (old != NULL) m->nzombies++;

  napi_value buffer;
  m->gen++; // the old buffer's finalizer must not release the new region
  napi_status status = new_buffer(env, m, &buffer);
  if (status != napi_ok) { // only where external buffers are refused, so the old view was empty
    if (before == 0) {
      mf_resize(&m->map, 0, NULL);
    } else {
      napi_detach_arraybuffer(env, argv[1]);
      release(m);
    }
    return status == napi_no_external_buffers_allowed ? throw_no_external_buffers(env) : fail(env);
  }
  napi_detach_arraybuffer(env, argv[1]);
  return buffer;
}

// The numbers of the exports above, for src/native/backend.ts (sodium-native's exported constants).
static napi_value export_constants(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    int value;
  } constants[] = {
    {"MODE_READ", MF_READ}, {"MODE_WRITE", MF_WRITE}, {"MODE_CREATE", MF_CREATE},
    {"MAP_AUTOCLOSE", MAP_AUTOCLOSE}, {"MAP_SPARSE", MAP_SPARSE},
    {"ADVICE_NORMAL", MF_NORMAL}, {"ADVICE_SEQUENTIAL", MF_SEQUENTIAL}, {"ADVICE_RANDOM", MF_RANDOM},
    {"ADVICE_WILLNEED", MF_WILLNEED}, {"ADVICE_DONTNEED", MF_DONTNEED},
    {"WINDOW_OFFSET", MF_EOFFSET}, {"WINDOW_END", MF_EWINDOW}, {"WINDOW_TOO_BIG", MF_ETOOBIG},
  };
  napi_value value;
  for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++) {
    CALL(napi_create_int32(env, constants[i].value, &value));
    CALL(napi_set_named_property(env, exports, constants[i].name, value));
  }
  CALL(napi_create_double(env, (double) mf_page_size(), &value));
  CALL(napi_set_named_property(env, exports, "pageSize", value));
  CALL(napi_create_double(env, (double) mf_max_map(), &value));
  CALL(napi_set_named_property(env, exports, "maxMapBytes", value));
#ifdef MMAPFILE_TEST_HOOKS
  const char *inject = getenv("MMAPFILE_INJECT_NO_EXTERNAL_BUFFERS");
  set_no_external_buffers(inject != NULL && strcmp(inject, "1") == 0);
  CALL(napi_get_boolean(env, true, &value));
  CALL(napi_set_named_property(env, exports, "testHooks", value));
#endif
  return exports;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"map", NULL, js_map, NULL, NULL, NULL, napi_enumerable, NULL},
    {"mapFd", NULL, js_mapFd, NULL, NULL, NULL, napi_enumerable, NULL},
    {"alloc", NULL, js_alloc, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sync", NULL, js_sync, NULL, NULL, NULL, napi_enumerable, NULL},
    {"syncAsync", NULL, js_syncAsync, NULL, NULL, NULL, napi_enumerable, NULL},
    {"incore", NULL, js_incore, NULL, NULL, NULL, napi_enumerable, NULL},
    {"advise", NULL, js_advise, NULL, NULL, NULL, napi_enumerable, NULL},
    {"resize", NULL, js_resize, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CALL(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return export_constants(env, exports);
}
