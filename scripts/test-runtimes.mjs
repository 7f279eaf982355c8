// The conformance suite on other runtimes and under restrictions: Node 22 and 24, Bun and Deno,
// each backend the runtime can load; Deno without --allow-ffi; Node 20, 22 and 24 under the
// permission model; test/restricted.test.mjs on each Node (with Deno for its Deno case); and
// test/executables.test.mjs on this node with Bun and Deno (bun build --compile, deno compile).
// Runtimes come from the npm registry (scripts/runtimes.mjs, cached in .runtimes/). The suite is
// the bundled tests `npm test` makes (build/test/native.test.mjs, build/test/wasm.test.mjs;
// scripts/test.mjs bundles them afresh first), run on the dist/ and addon that `npm install`
// built; each run is a child process.
//
//   node scripts/test-runtimes.mjs                     every run
//   node scripts/test-runtimes.mjs bun deno            only the runs whose name starts with one of these
//   node scripts/test-runtimes.mjs --no-bundle         run build/test/*.mjs as they are
//
// Prints a table run × backend × result and ends with 'N passed, N failed, N skipped' over the
// tests of all runs; exits 1 if a run that should pass did not.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Summary, binPath, bundleSuite, install, root, runFile, suiteFile, versionOf } from './runtimes.mjs'

// The permission model: the package and the tests' folders only. No /etc (node-gyp-build's musl
// check is refused), no /proc (tests that read it skip), no workers.
const permTmp = path.join(root, 'build', 'permission-tmp')
const childDir = path.join(root, 'build', 'test', 'children')
const permission = (flag) => (file, backend) => [
  flag,
  ...(backend === 'native' ? ['--allow-addons'] : []),
  `--allow-fs-read=${root}`,
  `--allow-fs-write=${permTmp}`,
  `--allow-fs-write=${childDir}`,
  '--allow-child-process',
  '--expose-gc',
  file
]
// Node 22+ starts children under the parent's model, and every process then warns about it on
// stderr, which the tests read as a failing child.
const permissionEnv = { TMPDIR: permTmp, NODE_NO_WARNINGS: '1' }
const node = (file) => ['--expose-gc', file]

/**
 * Each run: the runtime (a name of scripts/runtimes.mjs, or null for the node running this),
 * its arguments for a test file, the backends it runs (default both), its environment. `restricted`:
 * test/restricted.test.mjs runs on it too.
 */
const RUNS = [
  { name: 'node22', runtime: 'node22', args: node, restricted: true },
  { name: 'node24', runtime: 'node24', args: node, restricted: true },
  { name: 'bun', runtime: 'bun', args: node },
  // -A: files, environment, child processes and FFI (Node-API addons need --allow-ffi).
  { name: 'deno -A', runtime: 'deno', args: (file) => ['run', '-A', '--v8-flags=--expose-gc', file] },
  // No --allow-ffi: mmapfile runs on wasm. The rest is what the test harness needs (children,
  // their environment, getuid); the import with --allow-read --allow-write alone is in
  // test/restricted.test.mjs.
  {
    name: 'deno, no --allow-ffi',
    runtime: 'deno',
    backends: ['wasm'],
    args: (file) => [
      'run',
      '--allow-read',
      '--allow-write',
      '--allow-run',
      '--allow-env',
      '--allow-sys',
      '--v8-flags=--expose-gc',
      file
    ]
  },
  {
    name: 'node20 --experimental-permission',
    runtime: null,
    args: permission('--experimental-permission'),
    env: permissionEnv
  },
  { name: 'node22 --permission', runtime: 'node22', args: permission('--permission'), env: permissionEnv },
  { name: 'node24 --permission', runtime: 'node24', args: permission('--permission'), env: permissionEnv }
]
const BACKENDS = ['native', 'wasm']

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const runs = RUNS.filter((r) => wanted.length === 0 || wanted.some((w) => r.name.startsWith(w)))
if (runs.length === 0) {
  console.error(`test-runtimes: no such run: ${wanted.join(', ')} (known: ${RUNS.map((r) => r.name).join(', ')})`)
  process.exit(2)
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`test-runtimes: the runtime packages are pinned for linux-x64, not ${process.platform}-${process.arch}`)
  process.exit(2)
}
const binary = (run) => (run.runtime === null ? process.execPath : binPath(run.runtime))

// ---------------------------------------------------------------------------------------------

install([
  ...new Set(runs.map((r) => r.runtime).filter((r) => r !== null)),
  ...(runs.some((r) => r.restricted || r.runtime === null) ? ['deno', 'bun'] : [])
])
if (!process.argv.includes('--no-bundle')) bundleSuite()
fs.rmSync(permTmp, { recursive: true, force: true })
fs.mkdirSync(permTmp, { recursive: true })

const summary = new Summary('test-runtimes')
// test/restricted.test.mjs: on node20 (the permission-model run stands for it), node22 and node24;
// test/executables.test.mjs on node20.
const jobs = []
const others = { MMAPFILE_TEST_DENO: binPath('deno'), MMAPFILE_TEST_BUN: binPath('bun') }
for (const run of runs) {
  for (const backend of run.backends ?? BACKENDS) jobs.push({ run, backend, file: suiteFile(backend) })
  if (run.restricted || run.runtime === null) {
    const plain = run.runtime === null ? { ...run, name: 'node20', args: node, env: {} } : run
    jobs.push({
      run: plain,
      backend: 'restricted.test',
      file: path.join(root, 'test', 'restricted.test.mjs'),
      env: others
    })
    if (run.runtime === null)
      jobs.push({
        run: plain,
        backend: 'executables.test',
        file: path.join(root, 'test', 'executables.test.mjs'),
        env: others
      })
  }
}
for (const { run, backend, file, env } of jobs) {
  const version = versionOf(binary(run))
  summary.start(run.name, version, backend)
  const result = await runFile({ command: binary(run), args: run.args(file, backend), env: { ...run.env, ...env } })
  summary.add(result)
}
// exitCode, not exit(): stdout to a pipe (tee in .ci/run) is written asynchronously, and exit() drops
// what is still queued: the table's end and the closing line were lost once.
process.exitCode = summary.print()
