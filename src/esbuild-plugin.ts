// mmapfile/esbuild: an esbuild plugin for apps that bundle mmapfile into a single file.
//
// A bundle carries the WebAssembly backend inside it, but not the native addon (a `.node` file
// must be a file of its own). After each build, this plugin copies the addon that mmapfile loads
// on this machine next to every output file, as `mmapfile.node`: the bundled loader looks there
// first, so the bundle (with that file beside it) runs on the native backend. Without the file
// the bundle still runs, on WebAssembly.
//
//   import { build } from 'esbuild'
//   import mmapfile from 'mmapfile/esbuild'
//   await build({ entryPoints: ['app.js'], bundle: true, platform: 'node', target: 'node20',
//     outdir: 'out', plugins: [mmapfile()] })          // out/app.js + out/mmapfile.node

import { copyFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import type { Plugin } from 'esbuild'
import { ADDON_FILE, packageRoot } from './node/host.js'

export interface MmapfilePluginOptions {
  /**
   * The addon to copy (default: the one mmapfile itself loads here: build/Release/, else
   * prebuilds/<platform>-<arch>/ of the installed package).
   */
  addon?: string
  /** Fail the build when there is no addon to copy (default false: a warning, and the bundle runs on WebAssembly). */
  required?: boolean
}

/** The addon mmapfile's own loader would pick on this machine, or an Error saying why there is none. */
function findAddon(): string | Error {
  try {
    const root = packageRoot()
    const nodeGypBuild = createRequire(join(root, 'package.json'))('node-gyp-build') as { path(dir: string): string }
    return nodeGypBuild.path(root)
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  }
}

/** The esbuild plugin: copies the native addon next to the bundle. */
export function mmapfile(options: MmapfilePluginOptions = {}): Plugin {
  return {
    name: 'mmapfile',
    setup(build) {
      const initial = build.initialOptions
      // The metafile names every output file, wherever outdir, outbase and entryNames put it.
      initial.metafile = true
      build.onEnd((result) => {
        if (result.errors.length > 0) return
        const problem = (text: string) => (options.required ? { errors: [{ text }] } : { warnings: [{ text }] })
        if (initial.write === false)
          return problem('mmapfile: write is false, so there is no folder to put mmapfile.node in')
        const addon = options.addon ?? findAddon()
        if (addon instanceof Error) {
          return problem(
            `mmapfile: no native addon to copy (the bundle will run on WebAssembly): ${addon.message.trim()}`
          )
        }
        const base = initial.absWorkingDir ?? process.cwd()
        const folders = new Set<string>()
        for (const [file, output] of Object.entries(result.metafile?.outputs ?? {})) {
          if (output.entryPoint !== undefined && /\.[cm]?js$/.test(file)) folders.add(dirname(resolve(base, file)))
        }
        try {
          for (const folder of folders) {
            mkdirSync(folder, { recursive: true })
            copyFileSync(addon, join(folder, ADDON_FILE))
          }
        } catch (error) {
          return { errors: [{ text: `mmapfile: could not copy ${addon}: ${(error as Error).message}` }] }
        }
        return undefined
      })
    }
  }
}

export default mmapfile
