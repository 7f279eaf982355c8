// Temp files of a test process: one directory per process, removed at exit (also on Ctrl-C), and
// the files of its children. Re-exported by test/helpers.ts, which the tests import.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pattern } from './checks'

// The bundled tests run from <repo>/build/test/*.mjs, so the repo root is two levels up.
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
export const childDir = path.join(repoRoot, 'build', 'test', 'children')

export const tmpDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-test-')))
/** The children's source files (test/children.ts), removed at exit unless a test failed. */
export const childFiles: string[] = []
const removeTmp = (): void => {
  try {
    fs.rmSync(tmpDir, { recursive: true, force: true })
  } catch {
    /* best effort */
  }
  // this process's children, unless a test failed (then they are kept for a look)
  if (process.exitCode === 0 || process.exitCode === undefined) {
    for (const f of childFiles)
      try {
        fs.rmSync(f, { force: true })
      } catch {
        /* best effort */
      }
  }
}
process.on('exit', removeTmp)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    removeTmp()
    process.exit(130)
  })
}

let tmpCount = 0
/** A fresh path in the temp dir (the file does not exist yet). */
export function tmpFile(name = 'f.bin'): string {
  return path.join(tmpDir, `${++tmpCount}-${name}`)
}

/** A file holding `bytes`; returns its path. */
export function fileWith(bytes: Uint8Array | number, name = 'f.bin'): string {
  const p = tmpFile(name)
  fs.writeFileSync(p, typeof bytes === 'number' ? pattern(bytes) : bytes)
  return p
}

export function fileBytes(p: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(p))
}

export function fileSize(p: string): number {
  return fs.statSync(p).size
}

/** Reads `length` bytes at `position` without reading the whole (possibly huge, sparse) file. */
export function readAt(p: string, position: number, length: number): Uint8Array {
  const fd = fs.openSync(p, 'r')
  try {
    const buf = new Uint8Array(length)
    const n = fs.readSync(fd, buf, 0, length, position)
    return buf.subarray(0, n)
  } finally {
    fs.closeSync(fd)
  }
}

export function writeAt(p: string, position: number, bytes: Uint8Array): void {
  const fd = fs.openSync(p, 'r+')
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, position)
  } finally {
    fs.closeSync(fd)
  }
}
