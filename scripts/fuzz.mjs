// npm run fuzz -- [--seconds N] [--backend native|wasm|both] [--seed S [--count N]] [--replay FILE|JSON]
//                 [--one-writer] [--files-only] [--strict | --allow A,B] [--shrink-seconds N] [--dir DIR]
//
// The differential fuzzer of test/fuzz/ (its README says what it checks), for as long as asked: N
// seconds in all (default 60), shared between the backends, which run one after the other, each in
// its own `node --expose-gc` process. A timed run starts at a random seed and prints it; `--seed S`
// runs that sequence again (`--count N`: N sequences from S); `--replay` runs a saved or inline
// sequence. A failure prints the seed, the sequence shrunk to a few calls, and commands that replay
// both. If a backend's process dies (a signal), this prints the seed it was running.
//
// Assumes `npm install` has built dist/ and the addon.
import { build } from 'esbuild'
import { spawn } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

const argv = process.argv.slice(2)
const flag = (name) => {
  const i = argv.indexOf(`--${name}`)
  return i < 0 ? undefined : argv[i + 1]
}
/** argv without --name and its value */
const without = (args, name) => {
  const i = args.indexOf(`--${name}`)
  return i < 0 ? args : [...args.slice(0, i), ...args.slice(i + 2)]
}

const which = flag('backend') ?? 'both'
if (!['native', 'wasm', 'both'].includes(which)) {
  console.error(`fuzz: --backend takes native, wasm or both, got ${which}`)
  process.exit(2)
}
const backends = which === 'both' ? ['native', 'wasm'] : [which]
const seconds = Number(flag('seconds') ?? 60)
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`fuzz: --seconds takes a number > 0, got ${flag('seconds')}`)
  process.exit(2)
}
const timed = flag('seed') === undefined && flag('replay') === undefined
const first = timed ? randomInt(1, 2 ** 31) : undefined

if (!existsSync(join(root, 'dist', 'esm', 'index.mjs'))) {
  console.error('fuzz: dist/ is missing: run `npm install` (or `npm run build`) first')
  process.exit(2)
}
mkdirSync(join('build', 'fuzz'), { recursive: true })
const cli = join('build', 'fuzz', 'cli.mjs')
// As scripts/test.mjs bundles the tests: packages stay imports, so `mmapfile/*` is the built dist/.
await build({
  entryPoints: [join('test', 'fuzz', 'cli.ts')],
  outfile: cli,
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  sourcemap: 'inline'
})

function run(backend, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', cli, ...args, '--backend', backend], { stdio: 'inherit' })
    child.on('close', (code, signal) => resolve({ code, signal }))
  })
}

let failed = false
for (const backend of backends) {
  let args = without(without(argv, 'backend'), 'seconds')
  if (timed) {
    args = [...args, '--first', String(first), '--seconds', String(seconds / backends.length)]
    console.log(`# fuzz ${backend}: ${seconds / backends.length} s from seed ${first}`)
  }
  const { code, signal } = await run(backend, args)
  if (signal !== null) {
    let last = null
    try {
      last = JSON.parse(readFileSync(join('build', 'fuzz', `last-${backend}.json`), 'utf8'))
    } catch {
      /* none */
    }
    const again =
      last === null
        ? ''
        : `; replay: npm run fuzz -- --backend ${backend}${last.oneWriter ? ' --one-writer' : ''} --seed ${last.seed}`
    console.log(
      `fuzz ${backend}: the process was killed by ${signal}${last === null ? '' : ` running seed ${last.seed}`}${again}`
    )
  }
  if (code !== 0) failed = true
}
process.exitCode = failed ? 1 : 0
