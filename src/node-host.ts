// What the Node entry points need of Node: how paths are named, and where the package is
// installed (node-gyp-build looks for the addon under build/ and prebuilds/ there).

import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PathRules } from './paths.js'

export const nodePaths: PathRules = {
  resolve: (path) => resolve(path),
  fromFileURL: (url) => fileURLToPath(url)
}

declare const __dirname: string | undefined
/** Set by scripts/build.mjs: 'esm' or 'cjs'. Undefined where a test bundles the sources itself. */
declare const __MMAPFILE_FORMAT__: string | undefined

/** The folder of the running module: dist/esm/ or dist/cjs/, or the folder of an app's bundle. */
function moduleDir(): string {
  // The ESM build must not look at __dirname: a global of that name (an eval'd worker has one, '.';
  // so has any ESM "__dirname shim") says nothing about where this file is. Only the CommonJS build
  // has a __dirname of its own, and only it lacks import.meta.url.
  const format = typeof __MMAPFILE_FORMAT__ === 'string' ? __MMAPFILE_FORMAT__ : null
  if (format !== 'esm' && typeof __dirname === 'string') return __dirname
  return fileURLToPath(new URL('.', import.meta.url))
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

/** MMAPFILE_BACKEND, where this runtime has an environment. */
export function backendVariable(): string | undefined {
  return typeof process === 'object' ? process.env.MMAPFILE_BACKEND : undefined
}
