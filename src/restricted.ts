// What the native backend needs where the runtime restricts it: finding the addon where
// node-gyp-build cannot run, and asking Node's permission model before a path is opened.

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { systemError } from './errors.js'
import type { SystemError } from './errors.js'

/** The addon's file name, in build/Release/ and in prebuilds/<platform>-<arch>/ (prebuildify --napi). */
const ADDON = 'mmapfile.node'

/**
 * The addon of the package at `root`: node-gyp-build's choice, or where node-gyp-build itself
 * cannot load, the same places it looks, in its order (build/Release/ unless PREBUILDS_ONLY, then
 * prebuilds/<platform>-<arch>/). node-gyp-build reads /etc/alpine-release when it loads (its musl
 * check), which Node's permission model refuses unless --allow-fs-read covers /etc: its require
 * then throws, though the addon itself is allowed to load. Throws node-gyp-build's error if neither
 * finds one.
 */
export function addonFile(root: string, require: (id: string) => unknown): string {
  try {
    return (require('node-gyp-build') as { path(dir: string): string }).path(root)
  } catch (error) {
    const places = [join(root, 'prebuilds', `${process.platform}-${process.arch}`, ADDON)]
    if (!process.env.PREBUILDS_ONLY) places.unshift(join(root, 'build', 'Release', ADDON))
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
  const denied = !permission.has('fs.read', path) ? 'FileSystemRead' : write && !permission.has('fs.write', path) ? 'FileSystemWrite' : null
  if (denied === null) return null
  return Object.assign(systemError('ERR_ACCESS_DENIED', 'open', 'Access to this API has been restricted'), { permission: denied, resource: path })
}
