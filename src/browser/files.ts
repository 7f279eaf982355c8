// mmapfile.files: how bytes get into and out of the browser build's in-memory file system, the
// one the WebAssembly backend maps files of. Synchronous for bytes at hand; a Promise only where
// the source itself is asynchronous (a Blob, a File, a fetch Response).

import { Directory, File } from '@bjorn3/browser_wasi_shim'
import type { Inode } from '@bjorn3/browser_wasi_shim'
import { argTypeError, describe, systemError, withContext } from '../front/errors.js'
import { checkPath } from '../front/paths.js'
import { browserPaths } from './paths.js'

/** What `put` takes: bytes, or something that gives bytes later (Blob, File, Response). */
export type FileSource = ArrayBuffer | SharedArrayBuffer | ArrayBufferView
export interface AsyncFileSource {
  arrayBuffer(): Promise<ArrayBuffer>
}

export interface Files {
  /**
   * Writes a copy of `data` to `path`, creating missing parent directories. An existing file is
   * replaced in place, as `fs.writeFile` does: open views of it see the change at their next
   * sync/close only where they write back a chunk they changed. A `Blob`, `File` or `Response`
   * source gives a Promise (a Response that is not `ok` rejects it); bytes at hand do not.
   */
  put(path: string | URL, data: FileSource): void
  put(path: string | URL, data: AsyncFileSource): Promise<void>
  /** A copy of the file's bytes, as they are after the last sync/close of the views writing it. */
  get(path: string | URL): Uint8Array
  /** Removes the file. Views open on it keep working, as on POSIX. */
  remove(path: string | URL): void
  /** The absolute paths of every file, sorted. */
  list(): string[]
}

function isBytes(data: unknown): data is FileSource {
  return (
    ArrayBuffer.isView(data) ||
    data instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === 'function' && data instanceof SharedArrayBuffer)
  )
}

function isAsyncSource(data: unknown): data is AsyncFileSource {
  return typeof data === 'object' && data !== null && typeof (data as AsyncFileSource).arrayBuffer === 'function'
}

/** A copy, so that the caller's buffer and the file never share memory. */
function copyOf(data: FileSource): Uint8Array {
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
    : new Uint8Array(data).slice()
}

const failure = (code: string, syscall: string, description: string): Error => systemError(code, syscall, description)
const ENOENT = 'no such file or directory'

export function createFiles(root: Directory): Files {
  /** The directory holding `absolute` and the name in it; `create` makes missing directories. */
  function parentOf(absolute: string, syscall: string, create: boolean): { dir: Directory; name: string } {
    const parts = absolute.split('/').filter((part) => part !== '')
    const name = parts.pop()
    if (name === undefined) throw failure('EISDIR', syscall, 'illegal operation on a directory')
    let dir = root
    for (const part of parts) {
      let next: Inode | undefined = dir.contents.get(part)
      if (next === undefined) {
        if (!create) throw failure('ENOENT', syscall, ENOENT)
        next = new Directory(new Map())
        dir.contents.set(part, next)
      }
      if (!(next instanceof Directory)) throw failure('ENOTDIR', syscall, 'not a directory')
      dir = next
    }
    return { dir, name }
  }

  function fileAt(absolute: string, syscall: string): File {
    const { dir, name } = parentOf(absolute, syscall, false)
    const entry = dir.contents.get(name)
    if (entry === undefined) throw failure('ENOENT', syscall, ENOENT)
    if (!(entry instanceof File)) throw failure('EISDIR', syscall, 'illegal operation on a directory')
    return entry
  }

  function write(fn: string, given: string, absolute: string, bytes: Uint8Array): void {
    try {
      const { dir, name } = parentOf(absolute, 'open', true)
      const entry = dir.contents.get(name)
      if (entry instanceof File) entry.data = bytes
      else if (entry === undefined) dir.contents.set(name, new File(bytes))
      else throw failure('EISDIR', 'open', 'illegal operation on a directory')
    } catch (error) {
      throw withContext(error, fn, given)
    }
  }

  async function putLater(given: string, absolute: string, data: AsyncFileSource): Promise<void> {
    const { ok, status, statusText } = data as { ok?: unknown; status?: unknown; statusText?: unknown }
    if (ok === false)
      throw new Error(`mmapfile.files.put: the response is ${String(status)} ${String(statusText)}, not ok`)
    const bytes = new Uint8Array(await data.arrayBuffer())
    write('files.put', given, absolute, bytes)
  }

  function put(path: string | URL, data: FileSource): void
  function put(path: string | URL, data: AsyncFileSource): Promise<void>
  function put(path: unknown, data: unknown): void | Promise<void> {
    if (isBytes(data)) {
      const { given, absolute } = checkPath('files.put', path, browserPaths)
      write('files.put', given, absolute, copyOf(data))
      return
    }
    if (isAsyncSource(data)) {
      // A Promise-returning call rejects; it never throws.
      try {
        const { given, absolute } = checkPath('files.put', path, browserPaths)
        return putLater(given, absolute, data)
      } catch (error) {
        return Promise.reject(error)
      }
    }
    throw argTypeError(
      'files.put',
      `data must be an ArrayBuffer, a typed array, a DataView, a Blob or a Response, got ${describe(data)}`
    )
  }

  return Object.freeze({
    put,

    get(path: unknown): Uint8Array {
      const { given, absolute } = checkPath('files.get', path, browserPaths)
      try {
        return fileAt(absolute, 'open').data.slice()
      } catch (error) {
        throw withContext(error, 'files.get', given)
      }
    },

    remove(path: unknown): void {
      const { given, absolute } = checkPath('files.remove', path, browserPaths)
      try {
        fileAt(absolute, 'unlink')
        const { dir, name } = parentOf(absolute, 'unlink', false)
        dir.contents.delete(name)
      } catch (error) {
        throw withContext(error, 'files.remove', given)
      }
    },

    list(): string[] {
      const out: string[] = []
      const walk = (dir: Directory, prefix: string): void => {
        for (const [name, entry] of dir.contents) {
          if (entry instanceof Directory) walk(entry, `${prefix}${name}/`)
          else if (entry instanceof File) out.push(prefix + name)
        }
      }
      walk(root, '/')
      return out.sort()
    }
  }) as Files
}
