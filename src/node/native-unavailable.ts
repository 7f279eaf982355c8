// Why the native backend, asked for by name (MMAPFILE_BACKEND=native, or mmapfile/native), could not
// be had because its addon could not be loaded: where it was looked for, the loader's own reason, and
// what to do. A raw "Cannot find module 'node-gyp-build'" says none of that. The loader's error is
// kept as `cause`. An addon that loads but cannot work here (Electron's memory cage) already says so
// and keeps its code: it is not rewritten.

import { join } from 'node:path'
import { ADDON_FILE } from './host.js'
import { envVariable } from './restricted.js'

/** The platforms the package carries a prebuilt addon for (scripts/prebuild.mjs TARGETS). */
const PREBUILT = ['linux-x64', 'linux-arm64', 'win32-x64']

export const NATIVE_ENTRY = "import 'mmapfile/native'"
export const NATIVE_VARIABLE = 'MMAPFILE_BACKEND=native'

/** An error of finding or loading the addon file, as node-gyp-build and require() report them. */
function isLoadFailure(error: unknown): error is Error {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  return (
    code === 'MODULE_NOT_FOUND' || code === 'ERR_DLOPEN_FAILED' || error.message.startsWith('No native build was found')
  )
}

/**
 * The error to throw for `error`, a failure of loadNativeBackend(root) when `asked` (how the user
 * asked for native: the variable or the entry) left no fallback.
 */
export function nativeUnavailable(
  error: unknown,
  root: string,
  asked: typeof NATIVE_ENTRY | typeof NATIVE_VARIABLE
): unknown {
  if (!isLoadFailure(error)) return error
  const tuple = `${process.platform}-${process.arch}`
  const places = [join(root, 'prebuilds', tuple, ADDON_FILE)]
  if (!envVariable('PREBUILDS_ONLY')) places.unshift(join(root, 'build', 'Release', ADDON_FILE))
  const reason = error.message.split('\n')[0].trim()
  const prebuilt = PREBUILT.includes(tuple)
    ? `the package carries one for ${tuple} in prebuilds/: reinstall mmapfile whole (with its dependency node-gyp-build and its prebuilds/ folder)`
    : `the package carries none for ${tuple} (only ${PREBUILT.join(', ')})`
  return new Error(
    `mmapfile: ${asked} asks for the native backend, but its addon cannot be loaded: looked for ${places.join(' and ')}; ` +
      `the loader said: ${reason}. To get the addon: ${prebuilt}, or build it with ` +
      '`npm explore mmapfile -- npm run build:addon` (needs a C compiler and Python). ' +
      `To run on WebAssembly instead: ${asked === NATIVE_ENTRY ? "import 'mmapfile' (which falls back to it) or 'mmapfile/wasm'" : "unset MMAPFILE_BACKEND, or import 'mmapfile/wasm'"}.`,
    { cause: error }
  )
}
