// node:fs for the conformance files in a page (test/browser/run.ts swaps it in): what they call,
// over the browser build's in-memory file system (`files`). What it has no equivalent of (modes,
// links, FIFOs) throws Skip: the test is reported skipped.
import { files } from '/mmapfile.mjs'
import { Skip } from '../uvu'

const text = (data: unknown): Uint8Array =>
  typeof data === 'string' ? new TextEncoder().encode(data) : (data as Uint8Array)
const unsupported = (what: string) => (): never => {
  throw new Skip(`${what}: the page's in-memory file system has none`)
}

function isDir(p: string): boolean {
  const prefix = p.endsWith('/') ? p : `${p}/`
  try {
    files.get(p)
    return false
  } catch (error) {
    if ((error as { code?: string }).code === 'EISDIR') return true
    return files.list().some((f) => f.startsWith(prefix))
  }
}

export function existsSync(p: string): boolean {
  try {
    files.get(p)
    return true
  } catch {
    return isDir(p)
  }
}

export function readFileSync(p: string, encoding?: string | { encoding?: string }): Uint8Array | string {
  const bytes = files.get(p)
  const enc = typeof encoding === 'string' ? encoding : encoding?.encoding
  return enc === undefined ? bytes : new TextDecoder().decode(bytes)
}

export function writeFileSync(p: string, data: unknown): void {
  files.put(p, text(data))
}

export function appendFileSync(p: string, data: unknown): void {
  const now = existsSync(p) ? files.get(p) : new Uint8Array(0)
  const more = text(data)
  const next = new Uint8Array(now.length + more.length)
  next.set(now)
  next.set(more, now.length)
  files.put(p, next)
}

/** Past this a file would be a sparse one on disk; in memory, every byte of it. */
const LARGEST = 2 ** 30
function resized(bytes: Uint8Array, size: number): Uint8Array {
  if (size > LARGEST)
    throw new Skip(`a sparse file of ${size} bytes: the page's in-memory file system holds every byte of a file`)
  const next = new Uint8Array(size)
  next.set(bytes.subarray(0, size))
  return next
}

export function truncateSync(p: string, size = 0): void {
  files.put(p, resized(files.get(p), size))
}

export function statSync(p: string): {
  size: number
  isFile: () => boolean
  isDirectory: () => boolean
  isFIFO: () => boolean
} {
  const dir = isDir(p)
  const size = dir ? 0 : files.get(p).length
  return { size, isFile: () => !dir, isDirectory: () => dir, isFIFO: () => false }
}

export function rmSync(p: string, options?: { force?: boolean; recursive?: boolean }): void {
  const prefix = p.endsWith('/') ? p : `${p}/`
  if (options?.recursive === true) for (const f of files.list()) if (f.startsWith(prefix)) files.remove(f)
  try {
    files.remove(p)
  } catch (error) {
    if (options?.force !== true && !isDir(p)) throw error
  }
}

export const unlinkSync = (p: string): void => files.remove(p)

export function mkdirSync(p: string): void {
  const marker = `${p}/.made`
  files.put(marker, new Uint8Array(0))
  files.remove(marker)
}

export function readdirSync(p: string): string[] {
  const prefix = p.endsWith('/') ? p : `${p}/`
  return [
    ...new Set(
      files
        .list()
        .filter((f) => f.startsWith(prefix))
        .map((f) => f.slice(prefix.length).split('/')[0])
    )
  ]
}

export const realpathSync = (p: string): string => p

// Descriptors: a number for a path, read and written through `files`.
const open = new Map<number, string>()
let nextFd = 100
export function openSync(p: string, flags: string = 'r'): number {
  if (flags.startsWith('w')) files.put(p, new Uint8Array(0))
  else files.get(p)
  open.set(nextFd, p)
  return nextFd++
}
const pathOf = (fd: number): string => {
  const p = open.get(fd)
  if (p === undefined) throw Object.assign(new Error('EBADF: bad file descriptor'), { code: 'EBADF' })
  return p
}
export function closeSync(fd: number): void {
  pathOf(fd)
  open.delete(fd)
}
export function ftruncateSync(fd: number, size = 0): void {
  truncateSync(pathOf(fd), size)
}
export function fstatSync(fd: number): ReturnType<typeof statSync> {
  return statSync(pathOf(fd))
}
export function readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
  const got = files.get(pathOf(fd)).subarray(position, position + length)
  buffer.set(got, offset)
  return got.length
}
export function writeSync(
  fd: number,
  buffer: Uint8Array,
  offset = 0,
  length = buffer.length - offset,
  position = 0
): number {
  const p = pathOf(fd)
  const now = files.get(p)
  const next = resized(now, Math.max(now.length, position + length))
  next.set(buffer.subarray(offset, offset + length), position)
  files.put(p, next)
  return length
}

export const chmodSync = unsupported('file modes')
export const readlinkSync = unsupported('links')
export const symlinkSync = unsupported('links')
export const constants = { O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_APPEND: 1024 }
export default {
  existsSync,
  readFileSync,
  writeFileSync,
  appendFileSync,
  truncateSync,
  statSync,
  rmSync,
  unlinkSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  openSync,
  closeSync,
  ftruncateSync,
  fstatSync,
  readSync,
  writeSync,
  chmodSync,
  readlinkSync,
  symlinkSync,
  constants
}
