// Paths as every entry point takes them: a string or a file: URL, named by the host's rules
// (node:path and node:url on Node, POSIX rules in browsers).

import { argTypeError, argValueError, describe, systemError, withContext } from './errors.js'

/** How the host names files. */
export interface PathRules {
  resolve(path: string): string
  fromFileURL(url: URL): string
}

/** The path as the caller gave it (for messages) and made absolute; throws for what names no file. */
export function checkPath(fn: string, path: unknown, rules: PathRules): { given: string; absolute: string } {
  let given: string
  if (typeof path === 'string') {
    given = path
  } else if (path instanceof URL) {
    if (path.protocol !== 'file:') throw argValueError(fn, `path must be a file: URL, got ${path.protocol} URL`)
    // The host's own errors (node:url's ERR_INVALID_FILE_URL_HOST, …) keep their code, and name the function.
    try {
      given = rules.fromFileURL(path)
    } catch (error) {
      throw withContext(error, fn, null)
    }
  } else {
    throw argTypeError(fn, `path must be a string or a file: URL, got ${describe(path)}`)
  }
  if (given.includes('\0')) throw argValueError(fn, 'path must not contain null bytes')
  // An empty path names no file (node:fs agrees), although it would resolve to the directory.
  if (given === '') throw withContext(systemError('ENOENT', 'open', 'no such file or directory'), fn, given)
  return { given, absolute: rules.resolve(given) }
}
