// What a TypeScript user compiles against the built types (dist/types), reaching them by the package
// name from a project of their own (node_modules/mmapfile links to this package):
//  - the README's first example, read from README.md now, so that the README cannot drift from the
//    types: it compiles under `strict`, and runs as it says;
//  - an import of the package and of every subpath under each moduleResolution: node10 (which reads
//    `typesVersions`, not `exports`), node16, nodenext and bundler.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import { repoRoot, tmpDir } from './helpers'

const TSC = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')
const TYPE_ROOTS = path.join(repoRoot, 'node_modules', '@types')

/** A fresh project folder with node_modules/mmapfile linking to this package. */
function project(name: string): string {
  const dir = path.join(tmpDir, `ts-${name}`)
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true })
  fs.symlinkSync(repoRoot, path.join(dir, 'node_modules', 'mmapfile'), 'junction')
  return dir
}

/** Runs tsc in `dir` with `args`; fails the test with tsc's output if it reports anything. Our .d.ts files
 * are lib-checked elsewhere (test/unified-exports.test.ts): here, --skipLibCheck halves the time. */
function tsc(dir: string, args: string[], what: string): void {
  const r = spawnSync(
    process.execPath,
    [TSC, '--strict', '--skipLibCheck', '--target', 'es2022', '--types', 'node', '--typeRoots', TYPE_ROOTS, ...args],
    { cwd: dir, encoding: 'utf8' }
  )
  assert.ok(r.status === 0, `${what}: tsc ${args.join(' ')} failed (exit ${String(r.status)}):\n${r.stdout}${r.stderr}`)
}

/** The first ```js or ```ts block of README.md that imports mmapfile. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  for (const m of readme.matchAll(/^```(?:js|ts|javascript|typescript)\n([\s\S]*?)^```$/gm)) {
    if (/from 'mmapfile'/.test(m[1])) return m[1]
  }
  return assert.unreachable('README.md has no ```js or ```ts block that imports mmapfile') as never
}

const readme = suite('TypeScript: the README')

readme('its first example compiles under strict (module nodenext) and prints what its comment says', () => {
  const code = readmeExample()
  assert.match(code, /mmapfile\.create\(/, 'the example is the one that creates a file')
  const dir = project('readme')
  fs.writeFileSync(path.join(dir, 'example.mts'), code)
  tsc(
    dir,
    ['--module', 'nodenext', '--moduleResolution', 'nodenext', '--outDir', 'out', 'example.mts'],
    'the README example'
  )
  const r = spawnSync(process.execPath, [path.join('out', 'example.mjs')], { cwd: dir, encoding: 'utf8' })
  assert.is(r.status, 0, r.stderr)
  const printed = [...code.matchAll(/console\.log\(.*\/\/ (.*)$/gm)].map((m) => m[1].trim())
  assert.ok(printed.length > 0, 'the example says what it prints')
  assert.equal(r.stdout.trim().split('\n'), printed)
})

readme.run()

const subpaths = suite('TypeScript: every subpath resolves, whatever the moduleResolution')

const IMPORTS = `import mmapfile, { create } from 'mmapfile'
import * as native from 'mmapfile/native'
import * as wasm from 'mmapfile/wasm'
import mmapIo from 'mmapfile/mmap-io'
import esbuildPlugin from 'mmapfile/esbuild'
import type { SystemError } from 'mmapfile/wasm'
const a: Int32Array = native.create('x', 1, Int32Array)
const b: Int32Array = wasm.create('x', 1, Int32Array)
const c: Uint8Array = create('x', 1)
const backends: Array<'native' | 'wasm'> = [mmapfile.backend, native.backend, wasm.backend]
const page: number = mmapIo.PAGESIZE
const plugin: { name: string } = esbuildPlugin({ required: true })
const closed: 'ERR_MMAPFILE_CLOSED' = native.ERR_MMAPFILE_CLOSED
const error: SystemError | null = null
// @ts-expect-error create needs a count: the types are there, not any
wasm.create('x')
export { a, b, c, backends, page, plugin, closed, error }
`

for (const [resolution, module, file] of [
  ['node10', 'commonjs', 'check.ts'],
  ['node16', 'node16', 'check.mts'],
  ['nodenext', 'nodenext', 'check.mts'],
  ['bundler', 'esnext', 'check.ts']
]) {
  subpaths(`moduleResolution ${resolution} (module ${module})`, () => {
    const dir = project(resolution)
    fs.writeFileSync(path.join(dir, file), IMPORTS)
    tsc(dir, ['--noEmit', '--module', module, '--moduleResolution', resolution, '--esModuleInterop', file], resolution)
  })
}

subpaths.run()
