// The fuzzer on one backend, as scripts/fuzz.mjs runs it (bundled to build/fuzz/cli.mjs):
//   --backend native|wasm   which backend (required)
//   --first S               the first seed of a timed run (scripts/fuzz.mjs picks it)
//   --seconds N             run sequences S, S + 1, ... for N seconds
//   --seed S [--count N]    run only seed S (or N seeds from S)
//   --replay FILE|JSON      run one saved sequence ({ oneWriter, ops }), shrinking it if it fails
//   --one-writer            at most one live 'rw'/create view per file
//   --strict                accept none of the known deviations from API.md (known.ts); by default
//                           all are accepted, and named in the summary
//   --allow A,B             accept only these
//   --files-only            compare outcomes and files, not views (shows which writes reach the file)
//   --shrink-seconds N      time allowed to shrink a failure (default 60)
//   --dir DIR               where the files go (default: /dev/shm where it exists, else the temp dir)
// Prints one summary line; exit 1 on a failure (after printing its report).

import * as fs from 'node:fs'
import * as path from 'node:path'
import { campaign, report, scratchDir } from './campaign'
import { execute } from './execute'
import type { Api } from './execute'
import { formatSequence } from './format'
import { ALL_KNOWN, parseKnown } from './known'
import type { BackendName } from './model'
import type { Sequence } from './types'
import { repoRoot, tmpDir } from '../helpers'

function parse(argv: string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--')) throw new Error(`fuzz: unexpected argument ${arg}`)
    const next = argv[i + 1]
    if (next === undefined || next.startsWith('--')) out.set(arg.slice(2), 'true')
    else out.set(arg.slice(2), (i++, next))
  }
  return out
}

function number(args: Map<string, string>, name: string, fallback: number): number {
  const text = args.get(name)
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isFinite(n) || n < 0) throw new Error(`fuzz: --${name} takes a number >= 0, got ${text}`)
  return n
}

const args = parse(process.argv.slice(2))
const backend = args.get('backend') as BackendName
if (backend !== 'native' && backend !== 'wasm')
  throw new Error(`fuzz: --backend native or wasm, got ${String(backend)}`)
const api = (backend === 'native' ? await import('mmapfile/native') : await import('mmapfile/wasm')) as unknown as Api
const saveDir = path.join(repoRoot, 'build', 'fuzz')
const options = {
  api,
  backend,
  oneWriter: args.has('one-writer'),
  views: !args.has('files-only'),
  allow: new Set(args.has('strict') ? [] : args.has('allow') ? parseKnown(args.get('allow') as string) : ALL_KNOWN),
  dir: scratchDir(tmpDir, args.get('dir')),
  saveDir,
  shrinkSeconds: number(args, 'shrink-seconds', 60)
}

const replay = args.get('replay')
if (replay !== undefined) {
  const text = replay.trimStart().startsWith('{') ? replay : fs.readFileSync(replay, 'utf8')
  const saved = JSON.parse(text) as Partial<Sequence>
  const seq: Sequence = { seed: null, oneWriter: saved.oneWriter ?? options.oneWriter, ops: saved.ops ?? [] }
  console.log(formatSequence(seq.ops, backend, api.PAGE_SIZE, seq.oneWriter, options.allow))
  const { failure } = await execute(api, seq, options)
  if (failure === null) {
    console.log(`fuzz ${backend}: the sequence of ${seq.ops.length} calls passes`)
  } else {
    console.log(await report(options, seq, failure))
    process.exitCode = 1
  }
} else {
  const seed = args.get('seed')
  const first = number(args, 'first', seed === undefined ? 1 : number(args, 'seed', 1))
  const lastFile = path.join(saveDir, `last-${backend}.json`)
  fs.mkdirSync(saveDir, { recursive: true })
  const result = await campaign({
    ...options,
    first,
    count: seed === undefined ? Infinity : number(args, 'count', 1),
    until: seed === undefined ? Date.now() + number(args, 'seconds', 10) * 1000 : Infinity,
    // If the process dies (a signal), scripts/fuzz.mjs reads which seed it was running.
    onSequence: (s) => fs.writeFileSync(lastFile, JSON.stringify({ seed: s, oneWriter: options.oneWriter }))
  })
  fs.rmSync(lastFile, { force: true })
  if (result.failure !== null) {
    console.log(result.failure)
    process.exitCode = 1
  }
  const mode = `${options.oneWriter ? 'one writer per file' : 'several views per file'}${options.views ? '' : ', files only'}`
  console.log(
    `fuzz ${backend} (${mode}): ${result.sequences} sequences (seeds ${first}..${first + result.sequences - 1}), ` +
      `${result.steps} calls, longest ${result.longest} calls, ${result.seconds.toFixed(1)} s, ${result.failure === null ? 'no failure' : '1 failure'}`
  )
  const allowed = [...options.allow]
  if (allowed.length > 0)
    console.log(
      `fuzz ${backend}: known deviations from API.md accepted (test/fuzz/known.ts; --strict checks them): ${allowed.join(', ')}`
    )
}
