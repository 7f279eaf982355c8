// What the Node entry points need of Node: how paths are named, and where the package is
// installed (node-gyp-build looks for the addon under build/ and prebuilds/ there).

import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PathRules } from '../front/paths.js'
import { envVariable } from './restricted.js'

export const nodePaths: PathRules = {
  resolve: (path) => resolve(path),
  fromFileURL: (url) => fileURLToPath(url)
}

declare const __dirname: string | undefined

/** The folder of the running module: dist/esm/ or dist/cjs/, or the folder of an app's bundle. */
function moduleDir(): string {
  // import.meta.url first: where this code runs as ESM, a global __dirname (an eval'd worker has one,
  // '.'; so has any ESM "__dirname shim") says nothing about where this file is. Where it runs as
  // CommonJS (the CommonJS build, or the ESM build bundled again into CommonJS by an app) esbuild
  // leaves import.meta empty, and __dirname is this file's own.
  const url: unknown = import.meta.url
  if (typeof url === 'string' && url !== '') return fileURLToPath(new URL('.', url))
  if (typeof __dirname === 'string') return __dirname
  throw new Error('mmapfile: cannot tell where it is installed (no import.meta.url, no __dirname)')
}

/** The package root: dist/esm/ and dist/cjs/ both sit two levels below it. */
export function packageRoot(): string {
  return resolve(moduleDir(), '..', '..')
}

/** The addon's file name beside a bundle, where the esbuild plugin (mmapfile/esbuild) copies it. */
export const ADDON_FILE = 'mmapfile.node'

/**
 * `mmapfile.node` in the folder of the running module, or undefined. In the package that folder is
 * dist/esm/ or dist/cjs/, which hold no addon; in an app's single-file bundle it is the bundle's folder.
 */
export function addonBesideBundle(): string | undefined {
  const file = join(moduleDir(), ADDON_FILE)
  return existsSync(file) ? file : undefined
}

/** MMAPFILE_BACKEND, where this runtime has an environment that it lets us read. */
export function backendVariable(): string | undefined {
  return envVariable('MMAPFILE_BACKEND')
}
