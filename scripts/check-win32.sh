#!/usr/bin/env bash
# Checks that the Windows half of the addon compiles, with a MinGW-w64 cross compiler, against
# Node's headers: native/win32.c and the files beside it (mapping.c, registry.c, binding.c, args.c, handles.c) as binding.gyp builds them
# on Windows.
# Needs: apt-get install -y gcc-mingw-w64-x86-64 (or mingw-w64). Without it: prints
# `check-win32: skipped: <reason>` and exits 77 (the automake code for a skip), which scripts/test.mjs
# counts as a skip: a check that did not run never passes.
set -euo pipefail
cd "$(dirname "$0")/.."

CC="${MINGW_CC:-x86_64-w64-mingw32-gcc}"
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "check-win32: skipped: $CC not found (apt-get install -y gcc-mingw-w64-x86-64)"
  exit 77
fi

NODE_INCLUDE="${NODE_INCLUDE:-$(node -p "require('node:path').join(process.execPath, '..', '..', 'include', 'node')")}"
[ -f "$NODE_INCLUDE/node_api.h" ] || NODE_INCLUDE=/usr/include/node

# The defines binding.gyp gives on Windows. Compiling to objects (-O2), not only -fsyntax-only,
# also runs the warnings that need the optimizer (uninitialized use and the like).
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for file in native/win32.c native/mapping.c native/registry.c native/binding.c native/args.c native/handles.c; do
  "$CC" -c -O2 -std=gnu11 -Wall -Wextra -Werror \
    -DNAPI_VERSION=8 -D_WIN32_WINNT=0x0A00 -DWIN32_LEAN_AND_MEAN -DUNICODE -D_UNICODE \
    -I "$NODE_INCLUDE" "$file" -o "$out/$(basename "$file" .c).o"
done
echo "check-win32: native/win32.c, mapping.c, registry.c, binding.c, args.c and handles.c compile for x86_64-w64-mingw32"
