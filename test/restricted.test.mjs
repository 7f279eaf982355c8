// mmapfile where the runtime restricts it, each case a child process under the restriction:
//  - Node's permission model (this node: --experimental-permission on 20, --permission on 22+):
//    without --allow-addons, `mmapfile` is wasm and says why; sync and close are durable although
//    fsync is refused (writes through O_DSYNC descriptors, seen by the LD_PRELOAD witness of
//    test/sync-witness.c); a path the model refuses is ERR_ACCESS_DENIED with the path, on both
//    backends. With --allow-addons and no read access to /etc (node-gyp-build's musl check), native.
//  - Deno with --allow-read --allow-write only (the binary in MMAPFILE_TEST_DENO, which
//    scripts/test-runtimes.mjs sets): `import 'mmapfile'` reads no environment, falls back to wasm
//    with a backendError that names --allow-ffi, and round-trips a file.
// The conformance suites under the same restrictions: scripts/test-runtimes.mjs.
// Run: node test/restricted.test.mjs
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const root = fileURLToPath(new URL('..', import.meta.url))
// Inside the package, so that `import 'mmapfile'` resolves through package.json "exports".
const work = fs.mkdtempSync(path.join(root, 'build', 'restricted-'))
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }))
const allowed = path.join(work, 'allowed')
const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-outside-'))
process.on('exit', () => fs.rmSync(outside, { recursive: true, force: true }))
fs.mkdirSync(allowed)
fs.writeFileSync(path.join(outside, 'readable.bin'), new Uint8Array(16))

const major = Number(process.versions.node.split('.')[0])
const PERMISSION = major >= 22 ? '--permission' : '--experimental-permission'

/** Skips `name` on suite `s`, printing why, where `reason` is a string. */
function unless(s, reason) {
  return (name, fn) => {
    if (reason === null) return s(name, fn)
    console.log(`# skip: "${name}": ${reason}`)
    s.skip(name, fn)
  }
}

let witness = null
/** test/sync-witness.c as an LD_PRELOAD library, or why not. */
function syncWitness() {
  if (witness !== null) return witness
  const out = path.join(work, 'sync-witness.so')
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-o', out, path.join(root, 'test', 'sync-witness.c'), '-ldl'], {
    encoding: 'utf8'
  })
  witness =
    r.status === 0
      ? { library: out }
      : { error: `cc could not build test/sync-witness.c: ${r.error?.message ?? r.stderr}` }
  return witness
}
const witnessMissing =
  process.platform !== 'linux' ? `preloads a library with LD_PRELOAD, which ${process.platform} does not have` : null

let children = 0
/** Runs `source` (an ES module) with `args` before it; returns { status, stdout, stderr, report }. */
function child(command, args, source, env = {}) {
  const file = path.join(work, `child-${++children}.mjs`)
  fs.writeFileSync(file, source)
  const childEnv = { ...process.env, NO_COLOR: '1' }
  delete childEnv.MMAPFILE_BACKEND
  Object.assign(childEnv, env)
  const r = spawnSync(command, [...args, file], { cwd: root, env: childEnv, encoding: 'utf8', timeout: 120_000 })
  const last = (r.stdout ?? '').trim().split('\n').pop()
  let report = null
  try {
    report = JSON.parse(last)
  } catch {
    /* reported below */
  }
  assert.ok(
    r.status === 0 && report !== null,
    `the child failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}${r.error ?? ''}`
  )
  return report
}

/** This node under the permission model: reads the package and `allowed`, writes `allowed` only. */
function underPermission(source, { addons = false, env = {} } = {}) {
  const flags = [
    PERMISSION,
    `--allow-fs-read=${root}`,
    `--allow-fs-write=${allowed}`,
    ...(addons ? ['--allow-addons'] : [])
  ]
  return child(process.execPath, flags, source, { NODE_NO_WARNINGS: '1', ...env })
}

const REPORT = 'const report = (o) => process.stdout.write(JSON.stringify(o) + "\\n")'
const attempt = `const attempt = (fn) => { try { fn(); return null } catch (e) { return { code: e.code, path: e.path, message: e.message } } }`

/**
 * Runs `body` (after an import of mmapfile/wasm as m, fs and report) under the permission model
 * with the sync witness preloaded; `mark(what)` in it starts a part of the witness's log. Returns
 * the child's report and the log's parts as [what, lines].
 */
function witnessed(name, body) {
  const w = syncWitness()
  if (w.error) assert.unreachable(w.error)
  const log = path.join(allowed, `witness-${name}.log`)
  const got = underPermission(
    `import m from 'mmapfile/wasm'\nimport fs from 'node:fs'\n${REPORT}
    const mark = (what) => fs.appendFileSync(process.env.MMAPFILE_SYNC_LOG, 'mark ' + what + '\\n')
    ${body}`,
    { env: { LD_PRELOAD: w.library, MMAPFILE_SYNC_LOG: log } }
  )
  const parts = fs
    .readFileSync(log, 'utf8')
    .split(/^mark /m)
    .slice(1)
    .map((part) => {
      const [what, ...lines] = part.trim().split('\n')
      return [what, lines]
    })
  return { got, parts }
}

// ---------------------------------------------------------------------------------------------
const model = suite(`Node ${major}: the permission model (${PERMISSION})`)

model('without --allow-addons: mmapfile is wasm, and backendError says why', () => {
  const got = underPermission(
    `import m from 'mmapfile'\n${REPORT}\nreport({ backend: m.backend, why: m.backendError && m.backendError.message })`
  )
  assert.is(got.backend, 'wasm')
  assert.type(got.why, 'string')
})

unless(model, witnessMissing)(
  'wasm: sync, syncAsync and close are durable although fsync is refused: writes go through O_DSYNC',
  () => {
    const p = path.join(allowed, 'durable.bin')
    const { got, parts } = witnessed(
      'writes',
      `
    const v = m.create(${JSON.stringify(p)}, 8192)
    v[0] = 1; v[8191] = 2
    mark('sync')
    m.sync(v)
    v[1] = 3
    mark('syncAsync')
    await m.syncAsync(v)
    v[2] = 4
    mark('close')
    m.close(v)
    report({ ok: true })`
    )
    assert.ok(got.ok)
    assert.is(parts.length, 3, 'three marks')
    for (const [what, lines] of parts) {
      assert.ok(
        lines.some((l) => /^dsync-write (\d+) \1$/.test(l)),
        `${what}: no whole O_DSYNC write after it: ${JSON.stringify(lines)}`
      )
      assert.not.ok(
        lines.some((l) => /^(fsync|fdatasync) 0$/.test(l)),
        `${what}: an fsync succeeded, so the model did not refuse it: ${JSON.stringify(lines)}`
      )
    }
    const bytes = fs.readFileSync(p)
    assert.equal([bytes.length, bytes[0], bytes[1], bytes[2], bytes[8191]], [8192, 1, 3, 4, 2])
  }
)

unless(model, witnessMissing)(
  'wasm: a size change alone (create of zeros, resize) is made durable: its last byte is written through O_DSYNC',
  () => {
    const p = path.join(allowed, 'zeros.bin')
    const { got, parts } = witnessed(
      'size',
      `
    const v = m.create(${JSON.stringify(p)}, 100000)
    mark('create')
    m.sync(v)
    mark('resize')
    const r = m.resize(v, 200000)
    m.close(r)
    report({ size: fs.statSync(${JSON.stringify(p)}).size })`
    )
    assert.is(got.size, 200000)
    assert.is(parts.length, 2, 'two marks')
    for (const [what, lines] of parts) {
      assert.ok(
        lines.includes('dsync-write 1 1'),
        `${what}: the last byte was not written through O_DSYNC: ${JSON.stringify(lines)}`
      )
    }
  }
)

for (const backend of ['wasm', 'native']) {
  model(
    `${backend}: a path outside --allow-fs-write or --allow-fs-read is ERR_ACCESS_DENIED with the path; nothing is created`,
    () => {
      const target = path.join(outside, `${backend}-new.bin`)
      const readable = path.join(outside, 'readable.bin')
      const got = underPermission(
        `import m from 'mmapfile/${backend}'\n${REPORT}\n${attempt}
      report({ create: attempt(() => m.create(${JSON.stringify(target)}, 4)), open: attempt(() => m.open(${JSON.stringify(readable)})),
        rw: attempt(() => m.open(${JSON.stringify(readable)}, Uint8Array, 'rw')) })`,
        { addons: backend === 'native' }
      )
      for (const [what, file] of [
        ['create', target],
        ['open', readable],
        ['rw', readable]
      ]) {
        const e = got[what]
        assert.ok(e !== null, `${what} succeeded`)
        assert.is(e.code, 'ERR_ACCESS_DENIED', `${what}: ${e.message}`)
        assert.is(e.path, file, `${what}: path`)
        assert.ok(
          e.message.startsWith(`mmapfile.${what === 'create' ? 'create' : 'open'}: ERR_ACCESS_DENIED`),
          e.message
        )
      }
      assert.not.ok(fs.existsSync(target), 'the refused create made the file')
    }
  )
}

model(
  "with --allow-addons and no read access to /etc (node-gyp-build's musl check): native, and it round-trips",
  () => {
    const p = path.join(allowed, 'native.bin')
    const got = underPermission(
      `import m from 'mmapfile'\nimport fs from 'node:fs'\n${REPORT}
    const etc = (() => { try { fs.existsSync('/etc/alpine-release'); return 'readable' } catch (e) { return e.code } })()
    const v = m.create(${JSON.stringify(p)}, 4, Int32Array); v[3] = -7; m.close(v)
    const back = m.open(${JSON.stringify(p)}, Int32Array); const values = Array.from(back); m.close(back)
    report({ etc, backend: m.backend, why: m.backendError && m.backendError.message, values })`,
      { addons: true }
    )
    assert.is(got.etc, 'ERR_ACCESS_DENIED', 'reading /etc was refused, as the case needs')
    assert.is(got.backend, 'native', `backendError: ${got.why}`)
    assert.equal(got.values, [0, 0, 0, -7])
  }
)

model.run()

// ---------------------------------------------------------------------------------------------
const deno = suite('Deno with --allow-read --allow-write only')
const denoBinary = process.env.MMAPFILE_TEST_DENO
const denoMissing = !denoBinary ? 'no Deno binary: MMAPFILE_TEST_DENO is unset (npm run test:runtimes sets it)' : null

unless(deno, denoMissing)(
  "import 'mmapfile' reads no environment, falls back to wasm naming --allow-ffi, and round-trips a file",
  () => {
    const p = path.join(allowed, 'deno.bin')
    const got = child(
      denoBinary,
      ['run', '--allow-read', '--allow-write'],
      `import m from 'mmapfile'\n${REPORT.replace('process.stdout.write', 'console.log').replace(' + "\\n"', '')}
    const v = m.create(${JSON.stringify(p)}, 4, Int32Array); v[3] = -7; m.close(v)
    const back = m.open(${JSON.stringify(p)}, Int32Array); const values = Array.from(back); m.close(back)
    report({ backend: m.backend, why: m.backendError && m.backendError.message, values })`,
      { MMAPFILE_BACKEND: 'native' }
    )
    assert.is(got.backend, 'wasm', 'MMAPFILE_BACKEND=native is in the environment, which Deno does not let it read')
    assert.match(got.why, /--allow-ffi/)
    assert.equal(got.values, [0, 0, 0, -7])
  }
)

deno.run()
