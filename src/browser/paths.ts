// How the browser build names files: POSIX rules over an in-memory file system whose root is `/`
// and whose working directory is `/`. No node:path or node:url here: this file runs in pages.

import type { PathRules } from '../front/paths.js'

/** Unprefixed, as Node's own: checkPath (src/front/paths.ts) names the function that was called. */
function invalidURL(code: string, message: string): TypeError & { code: string } {
  return Object.assign(new TypeError(message), { code })
}

/** `path` made absolute against `/` and normalized: no `.`, `..`, empty or trailing segments. */
export function resolvePosix(path: string): string {
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') parts.pop()
    else parts.push(part)
  }
  return '/' + parts.join('/')
}

export const browserPaths: PathRules = {
  resolve: resolvePosix,
  // As Node's fileURLToPath on POSIX: no host, and no encoded '/' in the path.
  fromFileURL(url) {
    if (url.hostname !== '' && url.hostname !== 'localhost') {
      throw invalidURL('ERR_INVALID_FILE_URL_HOST', `a file: URL must have no host, got '${url.hostname}'`)
    }
    if (/%2f/i.test(url.pathname)) {
      throw invalidURL('ERR_INVALID_FILE_URL_PATH', "a file: URL path must not include an encoded '/'")
    }
    return decodeURIComponent(url.pathname)
  }
}
