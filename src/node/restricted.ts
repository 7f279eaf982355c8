// What mmapfile needs where the runtime restricts it: reading the environment only where Deno
// allows it, finding the addon where node-gyp-build cannot run (Node's permission model, Deno
// without --allow-env), saying which permission would allow the addon (Deno: --allow-ffi), and
// asking Node's permission model before the native backend opens a path.

import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { systemError } from '../front/errors.js'
import type { SystemError } from '../front/errors.js'

/** The addon's file name, in build/Release/ and in prebuilds/<platform>-<arch>/ (scripts/prebuild.mjs). */
const ADDON = 'mmapfile.node'

interface DenoPermissions {
  querySync(descriptor: { name: 'env'; variable: string } | { name: 'ffi' }): { state: string }
}
const denoPermissions = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions

/**
 * An environment variable, or undefined where there is none to read: without Deno's --allow-env,
 * reading process.env throws NotCapable (or, in a terminal, asks the user), so Deno's permission
 * is queried first, which never asks.
 */
export function envVariable(name: string): string | undefined {
  if (typeof process !== 'object') return undefined
  const state = denoPermissions?.querySync({ name: 'env', variable: name }).state
  if (state !== undefined && state !== 'granted') return undefined
  return process.env[name]
}

/**
 * Deno loads a Node-API addon only with --allow-ffi; without it, the error says so before
 * node-gyp-build, which reads the environment first, can fail on something else.
 */
function denoRefusal(): Error | null {
  if (denoPermissions === undefined || denoPermissions.querySync({ name: 'ffi' }).state === 'granted') return null
  return Object.assign(new Error('Deno runs Node-API addons only with --allow-ffi (NotCapable)'), {
    code: 'NotCapable'
  })
}

interface BunGlobal {
  main: string
  embeddedFiles: ReadonlyArray<{ name: string }>
}

/**
 * In an executable that `bun build --compile app.js <the addon>` made: the addon in Bun's embedded
 * file system, beside the app (/$bunfs/root/mmapfile-<hash>.node). The bundled loader cannot find
 * it from its own location: Bun bakes the path the package had on the machine that built it.
 */
function bunEmbeddedAddon(): string | undefined {
  const bun = (globalThis as { Bun?: Partial<BunGlobal> }).Bun
  const file = bun?.embeddedFiles?.find((f) => /^mmapfile(-\w+)?\.node$/.test(f.name))
  return file === undefined || typeof bun?.main !== 'string' ? undefined : join(dirname(bun.main), file.name)
}

/**
 * The addon to load: `given` (beside a bundle), else one embedded in a Bun executable, else that
 * of the package at `root`:
 * node-gyp-build's choice, or where node-gyp-build itself
 * cannot load, the same places it looks, in its order (build/Release/ unless PREBUILDS_ONLY, then
 * prebuilds/<platform>-<arch>/). node-gyp-build reads /etc/alpine-release when it loads (its musl
 * check), which Node's permission model refuses unless --allow-fs-read covers /etc: its require
 * then throws, though the addon itself is allowed to load. Throws node-gyp-build's error if neither
 * finds one.
 */
export function addonFile(root: string, require: (id: string) => unknown, given?: string): string {
  const refusal = denoRefusal()
  if (refusal !== null) throw refusal
  if (given !== undefined) return given
  const embedded = bunEmbeddedAddon()
  if (embedded !== undefined) return embedded
  try {
    return (require('node-gyp-build') as { path(dir: string): string }).path(root)
  } catch (error) {
    const places = [join(root, 'prebuilds', `${process.platform}-${process.arch}`, ADDON)]
    if (!envVariable('PREBUILDS_ONLY')) places.unshift(join(root, 'build', 'Release', ADDON))
    const found = places.find((place) => {
      try {
        return existsSync(place)
      } catch {
        return false
      }
    })
    if (found === undefined) throw error
    return found
  }
}

interface Permission {
  has(scope: 'fs.read' | 'fs.write', reference: string): boolean
}

/**
 * Under Node's permission model (`process.permission`, Node 20+), the error Node itself gives for
 * a path it does not allow, or null. The addon's open(2) is not confined by --allow-fs-read and
 * --allow-fs-write, so the backend asks first: reading for every mapping, writing too for 'rw'
 * and create.
 */
export function permissionRefusal(path: string, write: boolean): SystemError | null {
  const permission = typeof process === 'object' ? (process as { permission?: Permission }).permission : undefined
  if (permission === undefined) return null
  const denied = !permission.has('fs.read', path)
    ? 'FileSystemRead'
    : write && !permission.has('fs.write', path)
      ? 'FileSystemWrite'
      : null
  if (denied === null) return null
  return Object.assign(systemError('ERR_ACCESS_DENIED', 'open', 'Access to this API has been restricted'), {
    permission: denied,
    resource: path
  })
}
