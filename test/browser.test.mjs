// The browser build in a real browser: the conformance files (test/conformance/), through the
// adapter test/browser/run.ts, and the cases only a page has (test/browser/page.ts), bundled for the
// page with esbuild and served with dist/browser/index.mjs on 127.0.0.1; headless Chromium (driven
// by playwright-core) runs them, and each test the page reports is a uvu test here: passed, failed,
// or skipped with its reason (an area or a test that needs what a page does not have). Also scans
// the bundle for Node-only names.
//
// The browser: MMAPFILE_CHROMIUM if set (Debian's is /usr/bin/chromium), else the headless
// Chromium that the devDependency @sparticuz/chromium carries (brotli-compressed in the package,
// extracted by it into a temporary folder of this run), so that `npm install && npm test` needs
// no system package. Needs `npm run build` first.
import { build } from 'esbuild'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:http'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pattern } from './pattern.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const bundlePath = join(root, 'dist', 'browser', 'index.mjs')
// Without these, and a profile of its own, Chromium reaches for the network this machine closes.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  // gc() in the page, for the gccreate case
  '--js-flags=--expose-gc'
]
/** Folders this run made, removed at the end. */
const scratch = []
process.on('exit', () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
})

/**
 * The Chromium to run: { path, args, name }. @sparticuz/chromium extracts into os.tmpdir() and
 * reuses whatever it finds there, so it is given a folder of this run's own (no stale or
 * half-written binary of another run). Its headless shell wants its own flags (--no-zygote,
 * --single-process: it is built for a sandbox-less Lambda), ours added.
 */
async function findChromium() {
  if (process.env.MMAPFILE_CHROMIUM)
    return { path: process.env.MMAPFILE_CHROMIUM, args: chromiumArgs, name: process.env.MMAPFILE_CHROMIUM }
  const { default: Sparticuz } = await import('@sparticuz/chromium')
  const dir = mkdtempSync(join(tmpdir(), 'mmapfile-chromium-bin-'))
  scratch.push(dir)
  const before = process.env.TMPDIR
  process.env.TMPDIR = dir
  try {
    Sparticuz.setGraphicsMode = false
    const path = await Sparticuz.executablePath()
    const { version } = JSON.parse(
      readFileSync(join(root, 'node_modules', '@sparticuz', 'chromium', 'package.json'), 'utf8')
    )
    return {
      path,
      args: [...Sparticuz.args, ...chromiumArgs.filter((a) => a !== '--headless')],
      name: `@sparticuz/chromium ${version}`
    }
  } finally {
    if (before === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = before
  }
}
/** How long the page may take to report before we give up on it: a guard against a hang, not a measure. */
const PAGE_DEADLINE_MS = 120_000

// ---------------------------------------------------------------------------------------------
// The page run, once, before the tests are declared: each reported case becomes a test.

/** Why the page could not run, in words a reader can act on; null if it ran. */
let setupError = null
let results = []
/** The areas test/browser/run.ts declares, run or skipped. */
let areas = []
const pageErrors = []

function serve() {
  const routes = {
    '/': () => ['text/html', readFileSync(join(root, 'test', 'browser', 'page.html'))],
    '/run.mjs': () => ['text/javascript', conformance],
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

async function runPage(browser) {
  const { chromium } = await import('playwright-core')
  const server = await serve()
  const profile = mkdtempSync(join(tmpdir(), 'mmapfile-chromium-'))
  let context
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: browser.path,
      headless: true,
      args: browser.args
    })
    const page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => pageErrors.push(`uncaught: ${error.stack || error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console.error: ${message.text()}`)
    })
    const { port } = server.address()
    await page.goto(`http://127.0.0.1:${port}/`)
    let timer
    const deadline = new Promise((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the page reported nothing within ${PAGE_DEADLINE_MS / 1000} s`)),
        PAGE_DEADLINE_MS
      )
    })
    try {
      results = await Promise.race([page.evaluate(() => window.mmapfileResults), deadline])
      areas = await page.evaluate(() => window.mmapfileAreas)
    } finally {
      clearTimeout(timer)
    }
  } finally {
    await context?.close().catch(() => {})
    server.close()
    rmSync(profile, { recursive: true, force: true })
  }
}

/**
 * test/browser/run.ts for the page: uvu, ../helpers and the node: modules the conformance files
 * import are swapped for test/browser/'s (see there); the browser build stays a module of its own,
 * /mmapfile.mjs, as a page imports it.
 */
async function bundleConformance() {
  const here = join(root, 'test', 'browser')
  const swap = {
    uvu: join(here, 'uvu.ts'),
    'node:fs': join(here, 'node', 'fs.ts'),
    'node:path': join(here, 'node', 'path.ts'),
    'node:url': join(here, 'node', 'other.ts'),
    'node:child_process': join(here, 'node', 'other.ts'),
    'node:util': join(here, 'node', 'other.ts'),
    'node:buffer': join(here, 'node', 'globals.ts'),
    'node:os': join(here, 'node', 'other.ts')
  }
  const helpers = join(root, 'test', 'helpers.ts')
  const result = await build({
    entryPoints: [join(here, 'run.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['/mmapfile.mjs'],
    inject: [join(here, 'node', 'globals.ts')],
    logLevel: 'error',
    plugins: [
      {
        name: 'page',
        setup(b) {
          b.onResolve({ filter: /^(uvu|node:[a-z_]+)$/ }, (args) =>
            swap[args.path] ? { path: swap[args.path] } : undefined
          )
          b.onResolve({ filter: /\/helpers$/ }, (args) =>
            join(args.resolveDir, `${args.path}.ts`) === helpers ? { path: join(here, 'helpers.ts') } : undefined
          )
        }
      }
    ]
  })
  return result.outputFiles[0].text
}

let conformance = ''
let browser = null
if (!existsSync(bundlePath)) {
  setupError = `${bundlePath} is missing: run \`npm run build\` first`
} else {
  try {
    conformance = await bundleConformance()
    browser = await findChromium()
    if (!existsSync(browser.path)) throw new Error(`no file at ${browser.path}`)
    console.log(`browser: ${browser.name} (${browser.path})`)
    await runPage(browser)
  } catch (error) {
    setupError = `the page did not run in ${browser?.name ?? 'Chromium'}: ${(error && error.stack) || error}`
  }
}

// ---------------------------------------------------------------------------------------------

/** The source without its comments and string literals: what is left is code (names in messages are fine). */
function codeOnly(source) {
  return source.replace(
    /\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g,
    (match) => (match.startsWith('/') ? ' ' : '""')
  )
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

test('page: chromium runs the bundle and the tests, and reports them', () => {
  if (setupError) assert.unreachable(setupError)
  assert.ok(Array.isArray(results) && results.length > 0, 'the page reported no tests')
})

test('page: every area of test/conformance/ runs in the page or is declared with why it cannot', () => {
  if (setupError) assert.unreachable(setupError)
  const files = readdirSync(join(root, 'test', 'conformance')).filter(
    (f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'ctx.ts'
  )
  assert.equal([...areas].sort(), files.map((f) => f.replace(/\.ts$/, '')).sort(), 'test/browser/run.ts AREAS')
})

const noErrors = 'page: no uncaught errors or console errors'
if (setupError) {
  // the test above fails with the reason; this one checked nothing, and does not pass
  console.log(`# skip: "${noErrors}": the page did not run`)
  test.skip(noErrors)
} else {
  test(noErrors, () => {
    if (pageErrors.length > 0) assert.unreachable(pageErrors.join('\n'))
  })
}

for (const { suite, name, status, message } of Array.isArray(results) ? results : []) {
  const title = `page: ${suite}: ${name}`
  if (status === 'skipped') {
    console.log(`# skip: "${title}": ${message}`)
    test.skip(title)
  } else {
    test(title, () => {
      if (status !== 'passed') assert.unreachable(message)
    })
  }
}

test.run()
