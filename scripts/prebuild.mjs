// Builds the prebuilt addon of every target whose toolchain is on this machine, into
// prebuilds/<platform>-<arch>/mmapfile.node (prebuildify's layout, which node-gyp-build reads):
//
//   linux-x64     node-gyp, as `npm install` builds it (on a linux-x64 host)
//   linux-arm64   aarch64-linux-gnu-gcc    (apt-get install gcc-aarch64-linux-gnu)
//   win32-x64     x86_64-w64-mingw32-gcc   (apt-get install gcc-mingw-w64-x86-64), linked against
//                 an import library of node.exe made with dlltool from node-api-headers' list of
//                 Node-API exports, plus uv_translate_sys_error and uv_get_osfhandle (native/win32.c
//                 names errors with the first and turns a descriptor into a HANDLE with the second)
//
// The cross builds compile binding.gyp's sources with its defines, -O2, warnings as errors, and
// strip the result. darwin cannot be built here: no macOS SDK is to be had from npm or Debian.
//
//   node scripts/prebuild.mjs                  every target it can build; says which it skips and why
//   node scripts/prebuild.mjs win32-x64 ...    only these (an error if one cannot be built)
//   node scripts/prebuild.mjs --if-stale       keeps a prebuild newer than every source it is made of
//
// Exits 1 if a build that was tried failed. scripts/test-windows.mjs and test-arm64.mjs build
// theirs here and run the suite on them; `npm pack` runs this with --if-stale (prepack), so the
// tarball carries those very files when they were tested first (as .ci/run does), and builds the
// others. The linux-x64 prebuild is build/Release/mmapfile.node, stripped: what `npm test` ran.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const WARNINGS = ['-Wall', '-Wextra', '-Werror']
const POSIX_DEFINES = ['-DNAPI_VERSION=8', '-D_FILE_OFFSET_BITS=64', '-D_GNU_SOURCE']
const WIN32_DEFINES = ['-DNAPI_VERSION=8', '-D_WIN32_WINNT=0x0A00', '-DWIN32_LEAN_AND_MEAN', '-DUNICODE', '-D_UNICODE']
const SOURCES = ['native/binding.c', 'native/args.c', 'native/handles.c', 'native/mapping.c', 'native/registry.c']

/** Node-API headers: node-api-headers (a devDependency), which has no uv.h; Node's own headers for win32.c. */
const nodeApiHeaders = () => path.join(root, 'node_modules', 'node-api-headers')
function nodeIncludes() {
  for (const dir of [path.join(process.execPath, '..', '..', 'include', 'node'), '/usr/include/node']) {
    if (fs.existsSync(path.join(dir, 'uv.h'))) return dir
  }
  return null
}

const has = (command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0

export const TARGETS = {
  'linux-x64': {
    missing: () =>
      process.platform === 'linux' && process.arch === 'x64'
        ? null
        : `not a linux-x64 host (${process.platform}-${process.arch})`,
    build: buildHost
  },
  'linux-arm64': {
    missing: () =>
      has('aarch64-linux-gnu-gcc') ? null : 'aarch64-linux-gnu-gcc not found (apt-get install gcc-aarch64-linux-gnu)',
    build: (out) =>
      cross(
        'aarch64-linux-gnu-gcc',
        ['-fPIC', ...POSIX_DEFINES, '-std=gnu11', '-I', path.join(nodeApiHeaders(), 'include')],
        [...SOURCES, 'native/posix.c'],
        ['-shared', '-pthread'],
        out
      )
  },
  'win32-x64': {
    missing: () =>
      !has('x86_64-w64-mingw32-gcc')
        ? 'x86_64-w64-mingw32-gcc not found (apt-get install gcc-mingw-w64-x86-64)'
        : !has('x86_64-w64-mingw32-dlltool')
          ? 'x86_64-w64-mingw32-dlltool not found (apt-get install binutils-mingw-w64-x86-64)'
          : nodeIncludes() === null
            ? "no uv.h among Node's headers (include/node beside this node, or /usr/include/node)"
            : null,
    build: buildWin32
  }
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8' })
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')}\n${result.stdout ?? ''}${result.stderr ?? ''}${result.error ?? ''}`)
  }
}

/** Compiles `sources` into the shared library `out` with `cc`, then strips it. */
function cross(cc, cflags, sources, ldflags, out) {
  run(cc, ['-O2', '-std=gnu11', ...WARNINGS, ...cflags, ...sources, ...ldflags, '-o', out])
  run(cc.replace(/gcc$/, 'strip'), ['--strip-unneeded', out])
}

/**
 * The host's addon as `npm install` builds it (node-gyp over binding.gyp: npm run build:addon:release,
 * without the test hook of npm run build:addon), stripped.
 */
function buildHost(out) {
  run('npm', ['run', '--silent', 'build:addon:release'])
  fs.copyFileSync(path.join(root, 'build', 'Release', 'mmapfile.node'), out)
  run('strip', ['--strip-unneeded', out])
}

function buildWin32(out) {
  const work = fs.mkdtempSync(path.join(root, 'build', 'win32-'))
  try {
    // node.exe's Node-API exports, and the one libuv function win32.c calls.
    const def =
      fs.readFileSync(path.join(nodeApiHeaders(), 'def', 'node_api.def'), 'utf8').trimEnd() +
      '\nuv_translate_sys_error\nuv_get_osfhandle\n'
    fs.writeFileSync(path.join(work, 'node.def'), def)
    run('x86_64-w64-mingw32-dlltool', [
      '-d',
      path.join(work, 'node.def'),
      '-l',
      path.join(work, 'node.lib'),
      '-D',
      'node.exe'
    ])
    cross(
      'x86_64-w64-mingw32-gcc',
      [...WIN32_DEFINES, '-I', nodeIncludes()],
      [...SOURCES, 'native/win32.c'],
      ['-shared', '-static-libgcc', path.join(work, 'node.lib')],
      out
    )
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}

/** Whether prebuilds/<name>/mmapfile.node is newer than binding.gyp and every file of native/. */
export function fresh(name) {
  const file = path.join(root, 'prebuilds', name, 'mmapfile.node')
  if (!fs.existsSync(file)) return false
  const sources = ['binding.gyp', ...fs.readdirSync(path.join(root, 'native')).map((f) => path.join('native', f))]
  const built = fs.statSync(file).mtimeMs
  return sources.every((source) => fs.statSync(path.join(root, source)).mtimeMs < built)
}

/** Builds `name` into prebuilds/<name>/mmapfile.node; returns the file. */
export function prebuild(name) {
  const dir = path.join(root, 'prebuilds', name)
  fs.mkdirSync(dir, { recursive: true })
  fs.mkdirSync(path.join(root, 'build'), { recursive: true })
  const out = path.join(dir, 'mmapfile.node')
  const tmp = `${out}.${process.pid}.tmp`
  try {
    TARGETS[name].build(tmp)
    fs.renameSync(tmp, out)
  } finally {
    fs.rmSync(tmp, { force: true })
  }
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale')
  const asked = process.argv.slice(2).filter((a) => a !== '--if-stale')
  const unknown = asked.filter((name) => !(name in TARGETS))
  if (unknown.length > 0) {
    console.error(`prebuild: unknown target ${unknown.join(', ')} (known: ${Object.keys(TARGETS).join(', ')})`)
    process.exit(2)
  }
  let failed = 0
  for (const name of asked.length > 0 ? asked : Object.keys(TARGETS)) {
    const why = TARGETS[name].missing()
    if (why !== null) {
      console.log(`prebuild: ${name} skipped: ${why}`)
      if (asked.length > 0) failed++
      continue
    }
    if (ifStale && fresh(name)) {
      console.log(`prebuild: ${name} kept: prebuilds/${name}/mmapfile.node is newer than its sources`)
      continue
    }
    try {
      const file = prebuild(name)
      console.log(`prebuild: ${name} built: ${path.relative(root, file)} (${fs.statSync(file).size} bytes)`)
    } catch (error) {
      console.error(`prebuild: ${name} failed: ${error.message}`)
      failed++
    }
  }
  console.log(
    'prebuild: darwin skipped: no macOS SDK from npm or Debian (on macOS: npm explore mmapfile -- npm run build:addon:release, else WebAssembly)'
  )
  process.exit(failed > 0 ? 1 : 0)
}
