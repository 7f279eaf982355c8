// The browser build in a real browser: serves dist/browser/index.mjs and test/browser/ on
// 127.0.0.1, loads the page in Debian's chromium (driven by playwright-core) and makes each case
// the page reports a uvu test here. Also scans the bundle for Node-only names.
//
// Needs `npm run build` first, and chromium at /usr/bin/chromium (apt-get install -y chromium),
// or MMAPFILE_CHROMIUM pointing to another Chromium binary.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:http'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pattern } from './pattern.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const bundlePath = join(root, 'dist', 'browser', 'index.mjs')
const chromiumPath = process.env.MMAPFILE_CHROMIUM || '/usr/bin/chromium'
// Without these, and a profile of its own, Chromium reaches for the network this machine closes.
const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic', '--no-first-run',
  // gc() in the page, for the gccreate case
  '--js-flags=--expose-gc'
]
/** How long the page may take to report before we give up on it: a guard against a hang, not a measure. */
const PAGE_DEADLINE_MS = 120_000


// ---------------------------------------------------------------------------------------------
// The page run, once, before the tests are declared: each reported case becomes a test.

/** Why the page could not run, in words a reader can act on; null if it ran. */
let setupError = null
let results = []
const pageErrors = []

function serve () {
  const routes = {
    '/': () => ['text/html', readFileSync(join(root, 'test', 'browser', 'page.html'))],
    '/cases.mjs': () => ['text/javascript', readFileSync(join(root, 'test', 'browser', 'cases.mjs'))],
    '/pattern.mjs': () => ['text/javascript', readFileSync(join(root, 'test', 'pattern.mjs'))],
    '/mmapfile.mjs': () => ['text/javascript', readFileSync(bundlePath)],
    '/fixture.bin': () => ['application/octet-stream', pattern(4096, 7)]
  }
  const server = createServer((request, response) => {
    const route = routes[new URL(request.url, 'http://127.0.0.1').pathname]
    if (!route) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    const [type, body] = route()
    response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

async function runPage () {
  const { chromium } = await import('playwright-core')
  const server = await serve()
  const profile = mkdtempSync(join(tmpdir(), 'mmapfile-chromium-'))
  let context
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath, headless: true, args: chromiumArgs
    })
    const page = context.pages()[0] ?? await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(`uncaught: ${error.stack || error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console.error: ${message.text()}`)
    })
    const { port } = server.address()
    await page.goto(`http://127.0.0.1:${port}/`)
    let timer
    const deadline = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the page reported nothing within ${PAGE_DEADLINE_MS / 1000} s`)), PAGE_DEADLINE_MS)
    })
    try {
      results = await Promise.race([page.evaluate(() => window.mmapfileResults), deadline])
    } finally {
      clearTimeout(timer)
    }
  } finally {
    await context?.close().catch(() => {})
    server.close()
    rmSync(profile, { recursive: true, force: true })
  }
}

if (!existsSync(chromiumPath)) {
  setupError = `chromium is not installed at ${chromiumPath}: install it with ` +
    '`apt-get update && apt-get install -y chromium` (or set MMAPFILE_CHROMIUM to a Chromium binary)'
} else if (!existsSync(bundlePath)) {
  setupError = `${bundlePath} is missing: run \`npm run build\` first`
} else {
  try {
    await runPage()
  } catch (error) {
    setupError = `the page did not run in ${chromiumPath}: ${error && error.stack || error}`
  }
}

// ---------------------------------------------------------------------------------------------

/** The source without its comments and string literals: what is left is code (names in messages are fine). */
function codeOnly (source) {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g,
    (match) => (match.startsWith('/') ? ' ' : '""'))
}

test('bundle: no Buffer, process, require or node: imports in dist/browser/index.mjs', () => {
  assert.ok(existsSync(bundlePath), `${bundlePath} is missing: run \`npm run build\` first`)
  const source = readFileSync(bundlePath, 'utf8')
  const code = codeOnly(source)
  const forbidden = [
    ['Buffer', /\bBuffer\b/, code],
    ['process', /\bprocess\b/, code],
    ['require', /\brequire\b/, code],
    ['a node: module', /["']node:/, source],
    ['an import of another module (the bundle must stand alone)', /^\s*import\s*[^(\s]|\bimport\s*\(/m, code]
  ]
  for (const [name, pattern, text] of forbidden) {
    const match = pattern.exec(text)
    if (match) {
      const around = text.slice(Math.max(0, match.index - 80), match.index + 80).replace(/\s+/g, ' ')
      assert.unreachable(`the bundle uses ${name}: ...${around}...`)
    }
  }
  assert.ok(code.length < source.length && /\bcreateApi\b|\bStructArray\b/.test(code), 'the scan saw the code')
})

test('page: chromium runs the bundle and reports its cases', () => {
  if (setupError) assert.unreachable(setupError)
  assert.ok(Array.isArray(results) && results.length > 0, 'the page reported no cases')
})

test('page: no uncaught errors or console errors', () => {
  if (setupError) return // reported above
  if (pageErrors.length > 0) assert.unreachable(pageErrors.join('\n'))
})

for (const { name, ok, message } of Array.isArray(results) ? results : []) {
  test(`page: ${name}`, () => {
    if (!ok) assert.unreachable(message)
  })
}

test.run()
