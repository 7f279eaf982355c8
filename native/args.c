// The glue's arguments and errors (glue.h). Messages here are argument asserts in a few fixed
// shapes ("<name> must be ..."): src/front checks every argument first with the messages users
// see, and src/front/errors.ts words every error a user can meet; what the addon reports beyond
// those asserts is a code and numbers.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glue.h"

static const napi_type_tag mapping_tag = {0x6d6d617066696c65ULL, 0x6e61746976650001ULL};

// ---- errors

napi_value fail(napi_env env) {
  const napi_extended_error_info *info = NULL;
  bool pending = false;
  napi_get_last_error_info(env, &info);
  const char *msg = info != NULL && info->error_message != NULL ? info->error_message : "Node-API call failed";
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) napi_throw_error(env, NULL, msg);
  return NULL;
}

static int set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value number;
  return napi_create_double(env, value, &number) != napi_ok || napi_set_named_property(env, object, name, number) != napi_ok;
}

// An Error whose message is `text` (for the console only: the backend rewords it).
static napi_value new_error(napi_env env, const char *text) {
  napi_value msg, error;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok || napi_create_error(env, NULL, msg, &error) != napi_ok) return NULL;
  return error;
}

napi_value sys_error(napi_env env, int err, const char *syscall) {
  char text[96];
  napi_value name;
  if (syscall == NULL) syscall = "unknown";
  snprintf(text, sizeof(text), "%s failed: system error %d", syscall, err);
  napi_value error = new_error(env, text);
  if (error == NULL || napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_set_named_property(env, error, "syscall", name) != napi_ok || set_number(env, error, "errno", err)) {
    return NULL;
  }
  return error;
}

napi_value throw_sys(napi_env env, int err, const char *syscall) {
  napi_value error = sys_error(env, err, syscall);
  if (error == NULL) return fail(env);
  napi_throw(env, error);
  return NULL;
}

// The numbers of a window that does not fit; `length` -1 (to the end of the file) is what that
// was, where the offset is inside the file.
static napi_value window_error(napi_env env, int err, int64_t offset, int64_t length, int64_t size, int64_t maxBytes) {
  napi_value error = new_error(env, "the window does not fit");
  if (length < 0 && offset <= size) length = size - offset;
  if (error == NULL || set_number(env, error, "window", err) || set_number(env, error, "offset", (double) offset) ||
      set_number(env, error, "length", (double) length) || set_number(env, error, "size", (double) size) ||
      set_number(env, error, "maxBytes", (double) maxBytes)) {
    return NULL;
  }
  return error;
}

napi_value throw_open_error(napi_env env, int err, const mf_map_t *map, int64_t offset, int64_t length, int64_t size, int64_t maxBytes) {
  napi_value error, yes;
  if (err == MF_EOFFSET || err == MF_EWINDOW || err == MF_ETOOBIG) {
    error = window_error(env, err, offset, length, size, maxBytes);
  } else {
    error = sys_error(env, err, map->syscall);
    if (error != NULL && map->emptied &&
        (napi_get_boolean(env, true, &yes) != napi_ok || napi_set_named_property(env, error, "emptied", yes) != napi_ok)) {
      error = NULL;
    }
  }
  if (error == NULL) return fail(env);
  napi_throw(env, error);
  return NULL;
}

napi_value throw_no_external_buffers(napi_env env) {
  napi_throw_error(env, "ERR_MMAPFILE_NO_EXTERNAL_BUFFERS",
                   "this runtime does not allow external ArrayBuffers (V8 memory cage, e.g. Electron): "
                   "memory cannot be mapped into JavaScript");
  return NULL;
}

// ---- arguments

int get_int64(napi_env env, napi_value v, const char *name, int64_t min, int64_t *out) {
  napi_valuetype type;
  double d;
  char msg[128];
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    snprintf(msg, sizeof(msg), "%s must be a number", name);
    napi_throw_type_error(env, NULL, msg);
    return -1;
  }
  if (!(d >= (double) min && d <= (double) MAX_SAFE_INTEGER) || d != (double) (int64_t) d) {
    snprintf(msg, sizeof(msg), "%s must be an integer >= %lld", name, (long long) min);
    napi_throw_range_error(env, NULL, msg);
    return -1;
  }
  *out = (int64_t) d;
  return 0;
}

int get_mapping(napi_env env, napi_value v, int open, mapping_t **out) {
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &mapping_tag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, (void **) out) != napi_ok) {
    napi_throw_type_error(env, NULL, "handle must be a mmapfile handle");
    return -1;
  }
  if (open && (*out)->closed) {
    napi_throw_type_error(env, "ERR_MMAPFILE_CLOSED", "handle must not be closed");
    return -1;
  }
  return 0;
}

// Called once, by wrap(), for each handle it makes.
napi_status tag_mapping(napi_env env, napi_value handle) {
  return napi_type_tag_object(env, handle, &mapping_tag);
}

int check_buffer(napi_env env, napi_value v, const mapping_t *m) {
  bool is_ab = false;
  void *data = NULL;
  size_t length = 0;
  if (napi_is_arraybuffer(env, v, &is_ab) != napi_ok || !is_ab || napi_get_arraybuffer_info(env, v, &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "buffer must be an ArrayBuffer");
    return -1;
  }
  if (!m->closed && m->map.length > 0 && (data != m->map.base + m->map.delta || length != m->map.length)) {
    napi_throw_type_error(env, NULL, "buffer must be the mapping's current buffer");
    return -1;
  }
  return 0;
}

char *get_path(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "path must be a string");
    return NULL;
  }
  char *path = malloc(len + 1);
  if (path == NULL) return (char *) throw_sys(env, MF_ENOMEM, "malloc");
  napi_get_value_string_utf8(env, v, path, len + 1, &len);
  if (strlen(path) != len) {
    free(path);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "path must be a string without null bytes");
    return NULL;
  }
  return path;
}
