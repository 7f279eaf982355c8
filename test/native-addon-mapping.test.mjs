// Low-level checks of the native addon (see test/native-addon.test.mjs): mappings, their limits, the
// finalizer, and src/native/backend.ts loading it.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pattern } from './pattern.mjs'
import {
  RW,
  CREATE,
  root,
  addon,
  MAX,
  PAGE,
  R,
  dir,
  file,
  skip,
  mapsMention,
  throwsWith,
  errno,
  misfit
} from './native-addon-kit.mjs'

const require = createRequire(import.meta.url)

// ---- mapping

test('close unmaps at once', () => {
  const p = file(pattern(2 * PAGE))
  for (const mode of [R, RW]) {
    const [buffer, handle] = addon.map(p, mode, 0, -1, MAX, 0)
    const view = new Uint32Array(buffer, 8, 4)
    assert.ok(mapsMention(p))
    addon.close(handle, buffer)
    assert.is(view.length, 0)
    assert.not.ok(mapsMention(p), 'the mapping is gone right after close')
  }
})

test('syncAsync resolves; close while it runs defers the unmap', async () => {
  const p = file(pattern(4 * PAGE))
  const [buffer, handle] = addon.map(p, RW, 1, -1, MAX, 0)
  new Uint8Array(buffer)[0] = 1
  await addon.syncAsync(handle, 0, buffer.byteLength)
  const pending = addon.syncAsync(handle, 3, 100)
  addon.close(handle, buffer)
  assert.is(buffer.byteLength, 0)
  assert.ok(mapsMention(p), 'still mapped while the work may run (it completes on this thread)')
  await pending
  await new Promise((resolve) => setImmediate(resolve))
  assert.not.ok(mapsMention(p), 'unmapped once the work completed')
  const [b2, h2] = addon.alloc(10, MAX)
  await addon.syncAsync(h2, 0, 10) // nothing to do: resolves
  addon.close(h2, b2)
})

test('resize while syncAsync runs keeps the old region until the work completes', async () => {
  const p = file(pattern(PAGE))
  let [buffer, handle] = addon.map(p, RW, 0, -1, MAX, 0)
  const works = [addon.syncAsync(handle, 0, PAGE), addon.syncAsync(handle, 10, 10)]
  buffer = addon.resize(handle, buffer, 8 * PAGE, MAX)
  new Uint8Array(buffer)[8 * PAGE - 1] = 1
  buffer = addon.resize(handle, buffer, 10, MAX)
  const regions = fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.includes(p))
  assert.ok(regions.length >= 3, 'the two old regions are kept while the works may run')
  await Promise.all(works)
  assert.is(buffer.byteLength, 10)
  addon.close(handle, buffer)
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(fs.statSync(p).size, 10)
  assert.not.ok(mapsMention(p))
})

// Windows across 2 GiB and 4 GiB, and the whole file, are test/conformance/large.ts's, on both backends.
test('a sparse 6 GiB file: a view of MAX_LENGTH bytes across 2 GiB and 4 GiB, its last byte copy-on-write; larger is a RangeError', () => {
  const p = file()
  const fd = fs.openSync(p, 'w')
  fs.ftruncateSync(fd, 6 * 2 ** 30)
  fs.writeSync(fd, new Uint8Array([1]), 0, 1, 2 ** 31 - 3)
  fs.writeSync(fd, new Uint8Array([3]), 0, 1, 2 ** 32 - 1)
  fs.closeSync(fd)
  const [big, bigHandle] = addon.map(p, R, 2 ** 31 - 5, MAX, MAX, 0)
  assert.is(big.byteLength, MAX)
  const view = new Uint8Array(big)
  assert.is(view[2 ** 32 - 3 + 2 - (2 ** 31 - 5)], 3)
  assert.is(view[2 ** 31 - 3 - (2 ** 31 - 5)], 1)
  view[MAX - 1] = 1 // the last byte, copy-on-write
  addon.close(bigHandle, big)
  throwsWith(() => addon.map(p, R, 0, -1, MAX, 0), misfit(addon.WINDOW_TOO_BIG, 0, 6 * 2 ** 30, 6 * 2 ** 30, MAX))
  fs.unlinkSync(p)
})

function child(source, env = {}) {
  const result = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', source], {
    env: { ...process.env, ...env },
    encoding: 'utf8'
  })
  assert.is(result.status, 0, result.stderr)
  return result.stdout.trim()
}

test('maxMapBytes: whole pages, terabytes in a 64-bit process; a create beyond it fails at mmap and removes its file', () => {
  const max = addon.maxMapBytes
  assert.ok(Number.isSafeInteger(max) && max % PAGE === 0, `maxMapBytes ${max}`)
  assert.ok(max >= 2 ** 40, `maxMapBytes ${max}: less than 1 TiB of address space`)
  const p = file()
  throwsWith(
    () => addon.map(p, CREATE, 0, max + 2 ** 40, Number.MAX_SAFE_INTEGER, 0),
    (e) => {
      assert.is(e.errno, errno('ENOMEM'))
      assert.is(e.syscall, 'mmap')
    }
  )
  assert.not.ok(fs.existsSync(p), 'the file the failed create made is gone')
  assert.not.ok(mapsMention(p))
})

const underLimit =
  'maxMapBytes is the address space left under RLIMIT_AS, and src/native/backend.ts keeps maxViewBytes within it'
if (!fs.existsSync('/bin/sh')) skip(underLimit, 'sets RLIMIT_AS with /bin/sh, which this machine does not have')
else
  test(underLimit, () => {
    const script = `
    const esbuild = await import(${JSON.stringify(require.resolve('esbuild'))})
    const { outputFiles } = await esbuild.build({ entryPoints: [${JSON.stringify(path.join(root, 'src/native/backend.ts'))}],
      bundle: true, platform: 'node', format: 'esm', write: false, external: ['node-gyp-build', 'esbuild'] })
    const fs = await import('node:fs')
    const { pathToFileURL } = await import('node:url')
    const bundle = ${JSON.stringify(path.join(dir, 'native-bundle-as.mjs'))}
    fs.writeFileSync(bundle, outputFiles[0].text)
    const { loadNativeBackend } = await import(pathToFileURL(bundle).href)
    const { createRequire } = await import('node:module')
    const addon = createRequire(${JSON.stringify(root + '/')})('node-gyp-build')(${JSON.stringify(root)})
    console.log(JSON.stringify({ maxMap: addon.maxMapBytes, maxView: loadNativeBackend(${JSON.stringify(root)}).capabilities.maxViewBytes }))
  `
    const limitKiB = 6 * 2 ** 20 // 6 GiB: room for Node, not for a 6 GiB mapping besides
    const result = spawnSync(
      '/bin/sh',
      ['-c', `ulimit -v ${limitKiB} && exec "$0" "$@"`, process.execPath, '--input-type=module', '-e', script],
      { encoding: 'utf8' }
    )
    assert.is(result.error, undefined, 'running /bin/sh')
    assert.is(result.status, 0, result.stderr)
    const { maxMap, maxView } = JSON.parse(result.stdout.trim())
    assert.ok(maxMap > 0 && maxMap < limitKiB * 1024, `maxMapBytes ${maxMap} under a limit of ${limitKiB * 1024} bytes`)
    assert.is(maxView, Math.min(MAX, maxMap), 'maxViewBytes')
  })

// Node 20 refuses external buffers over 4 GiB, and calls the finalizer before it returns. Node 22+
// takes buffers of terabytes: no buffer there is larger than the runtime allows and could be mapped.
const tooLarge = 'a buffer larger than the runtime allows: its error, no crash, nothing left behind'
if (MAX >= 2 ** 40)
  skip(
    tooLarge,
    `this runtime takes buffers of up to ${MAX} bytes (buffer.constants.MAX_LENGTH): none larger can be mapped to try`
  )
else
  test(tooLarge, () => {
    const p = file()
    const out = child(`
    import { createRequire } from 'node:module'
    import fs from 'node:fs'
    const addon = createRequire(${JSON.stringify(root + '/')})('node-gyp-build')(${JSON.stringify(root)})
    const size = ${MAX} + ${PAGE}
    const codes = []
    for (const call of [() => addon.alloc(size, Number.MAX_SAFE_INTEGER), () => addon.map(${JSON.stringify(p)}, 2, 0, size, Number.MAX_SAFE_INTEGER, 0)]) {
      try { call(); codes.push('none') } catch (e) { codes.push(e instanceof Error ? 'Error' : typeof e) }
    }
    globalThis.gc()
    await new Promise((resolve) => setTimeout(resolve, 20))
    const [b, h] = addon.alloc(10, 100)
    new Uint8Array(b).fill(7)
    addon.close(h, b)
    const maps = fs.readFileSync('/proc/self/maps', 'utf8').includes(${JSON.stringify(p)})
    console.log(JSON.stringify({ codes, exists: fs.existsSync(${JSON.stringify(p)}), maps }))
  `)
    assert.equal(JSON.parse(out), { codes: ['Error', 'Error'], exists: false, maps: false })
  })

// The test hook MMAPFILE_INJECT_NO_EXTERNAL_BUFFERS is compiled into test builds only (binding.gyp).
const HOOKLESS =
  'the addon was built without its test hook: npm run build:addon builds it in (build:addon:release and the prebuilds leave it out)'
const hooked = (name, fn) => {
  if (addon.testHooks === true) return test(name, fn)
  console.log(`# skip: "${name}": ${HOOKLESS}`)
  test.skip(name, fn)
}

hooked('injected no-external-buffers: ERR_MMAPFILE_NO_EXTERNAL_BUFFERS, nothing left behind', () => {
  const p = file()
  const out = child(
    `
    import { createRequire } from 'node:module'
    import fs from 'node:fs'
    const addon = createRequire(${JSON.stringify(root + '/')})('node-gyp-build')(${JSON.stringify(root)})
    const codes = []
    for (const call of [() => addon.alloc(10, 2 ** 32), () => addon.map(${JSON.stringify(p)}, 2, 0, 10, 2 ** 32, 0)]) {
      try { call(); codes.push('none') } catch (e) { codes.push(e.code) }
    }
    const [b, h] = addon.alloc(0, 2 ** 32)
    let code = 'none'
    try { addon.resize(h, b, 10, 2 ** 32) } catch (e) { code = e.code }
    addon.close(h, b)
    const maps = fs.readFileSync('/proc/self/maps', 'utf8').includes(${JSON.stringify(p)})
    console.log(JSON.stringify({ codes, code, exists: fs.existsSync(${JSON.stringify(p)}), maps }))
  `,
    { MMAPFILE_INJECT_NO_EXTERNAL_BUFFERS: '1' }
  )
  assert.equal(JSON.parse(out), {
    codes: ['ERR_MMAPFILE_NO_EXTERNAL_BUFFERS', 'ERR_MMAPFILE_NO_EXTERNAL_BUFFERS'],
    code: 'ERR_MMAPFILE_NO_EXTERNAL_BUFFERS',
    exists: false,
    maps: false
  })
})

test('a dropped buffer is unmapped by its finalizer; an old buffer after resize is not', () => {
  const p = file(pattern(PAGE))
  const out = child(`
    import { createRequire } from 'node:module'
    import fs from 'node:fs'
    const addon = createRequire(${JSON.stringify(root + '/')})('node-gyp-build')(${JSON.stringify(root)})
    const maps = () => fs.readFileSync('/proc/self/maps', 'utf8').includes(${JSON.stringify(p)})
    const settle = async () => { for (let i = 0; i < 5; i++) { gc(); await new Promise((r) => setImmediate(r)) } }
    ;(() => { addon.map(${JSON.stringify(p)}, 1, 0, -1, 2 ** 32, 0) })()
    await settle()
    const dropped = !maps()
    let [b, h] = addon.map(${JSON.stringify(p)}, 1, 0, -1, 2 ** 32, 0)
    b = addon.resize(h, b, 2 * ${PAGE}, 2 ** 32)
    await settle()
    new Uint8Array(b)[5] = 42
    const kept = maps()
    b = null
    await settle()
    console.log(JSON.stringify({ dropped, kept, gone: !maps(), byte: fs.readFileSync(${JSON.stringify(p)})[5] }))
  `)
  assert.equal(JSON.parse(out), { dropped: true, kept: true, gone: true, byte: 42 })
})

function backendScript() {
  return `
    const esbuild = await import(${JSON.stringify(require.resolve('esbuild'))})
    const { outputFiles } = await esbuild.build({ entryPoints: [${JSON.stringify(path.join(root, 'src/native/backend.ts'))}],
      bundle: true, platform: 'node', format: 'esm', write: false, external: ['node-gyp-build'] })
    const fs = await import('node:fs')
    const { pathToFileURL } = await import('node:url')
    const bundle = ${JSON.stringify(path.join(dir, 'native-bundle.mjs'))}
    fs.writeFileSync(bundle, outputFiles[0].text)
    const { loadNativeBackend } = await import(pathToFileURL(bundle).href)
    const results = []
    try {
      const b = loadNativeBackend(${JSON.stringify(root)})
      const m = b.alloc(100)
      const m2 = b.resize(m, 200)
      results.push(b.name, m.byteLength, m2.byteLength, b.capabilities.maxViewBytes)
      b.close(m)
      b.close(m2)
      try { b.sync(m2, 0, 1) } catch (e) { results.push(e.code) }
    } catch (e) { results.push(e.code, e.message) }
    console.log(JSON.stringify(results))
  `
}

test('src/native/backend.ts loads and probes; a resized-away mapping acts as closed', () => {
  const [name, before, after, maxView, code] = JSON.parse(child(backendScript()))
  assert.equal([name, before, after, code], ['native', 0, 200, 'ERR_MMAPFILE_CLOSED'])
  // the engine's limit, or the address space where that is smaller (never on 64-bit Node 20)
  assert.ok(maxView <= MAX && maxView >= Math.min(MAX, 2 ** 40), `maxViewBytes ${maxView}`)
})

hooked('src/native/backend.ts fails catchably under the injected cage', () => {
  const [code, message] = JSON.parse(child(backendScript(), { MMAPFILE_INJECT_NO_EXTERNAL_BUFFERS: '1' }))
  assert.is(code, 'ERR_MMAPFILE_NO_EXTERNAL_BUFFERS')
  assert.match(message, /^mmapfile: the native addon cannot work here: /)
})

test.after(() => fs.rmSync(dir, { recursive: true, force: true }))
test.run()
