// Runs many seeded sequences on one backend, and turns the first failure into a report: the seed, the
// sequence shrunk to a few calls in readable form, and the commands that replay both.

import * as fs from 'node:fs'
import * as path from 'node:path'
import { execute } from './execute'
import type { Api, Failure } from './execute'
import { formatSequence } from './format'
import { generate } from './generate'
import type { BackendName } from './model'
import { ALL_KNOWN } from './known'
import type { Known } from './known'
import { renumber, shrink } from './shrink'
import type { Op, Sequence } from './types'

export interface CampaignOptions {
  api: Api
  backend: BackendName
  oneWriter: boolean
  /** deviations from API.md to accept (known.ts) */
  allow: ReadonlySet<Known>
  /** false: compare files and outcomes only */
  views?: boolean
  /** a temp dir for the sequences' files */
  dir: string
  /** where a failing sequence is saved for --replay */
  saveDir: string
  /** the first seed; sequences use first, first + 1, ... */
  first: number
  /** stop after this many sequences, or at this Date.now(), whichever comes first */
  count: number
  until: number
  shrinkSeconds: number
  /** called before each sequence (the CLI records it, in case the process dies) */
  onSequence?: (seed: number) => void
}

export interface CampaignResult {
  sequences: number
  steps: number
  /** calls in the longest sequence run */
  longest: number
  seconds: number
  /** the report of the first failure, if any */
  failure: string | null
}

/**
 * Where the sequences' files go: a directory made in `parent`, or in /dev/shm where there is one (a
 * tmpfs: sync's fsync costs nothing there, and the fuzzer cannot see durability anyway; page-cache
 * semantics are the same), else in `fallback`. Removed at exit.
 */
export function scratchDir(fallback: string, parent?: string): string {
  let base = parent ?? fallback
  if (parent === undefined) {
    try {
      fs.accessSync('/dev/shm', fs.constants.W_OK)
      base = '/dev/shm'
    } catch {
      /* no tmpfs here */
    }
  }
  const dir = fs.mkdtempSync(path.join(base, 'mmapfile-fuzz-'))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The command line that runs the fuzzer as `flags` say. */
export function command(
  backend: BackendName,
  flags: { oneWriter: boolean; allow: ReadonlySet<Known>; views?: boolean },
  rest: string
): string {
  const allowed = ALL_KNOWN.filter((k) => flags.allow.has(k))
  const allow =
    allowed.length === ALL_KNOWN.length ? '' : allowed.length === 0 ? ' --strict' : ` --allow ${allowed.join(',')}`
  const extra = `${flags.oneWriter ? ' --one-writer' : ''}${flags.views === false ? ' --files-only' : ''}${allow}`
  return `npm run fuzz -- --backend ${backend}${extra} ${rest}`
}

function where(failure: Failure, ops: readonly Op[]): string {
  return failure.step >= ops.length
    ? `the closing calls at the end (${failure.step - ops.length + 1})`
    : `call ${failure.step}`
}

/** Shrinks a failing sequence and writes the report (and the shrunk sequence's file). */
export async function report(
  opts: Omit<CampaignOptions, 'first' | 'count' | 'until'>,
  seq: Sequence,
  failure: Failure
): Promise<string> {
  const { api, backend } = opts
  const page = api.PAGE_SIZE
  const run = async (ops: Op[]): Promise<Failure | null> =>
    (
      await execute(
        api,
        { ops, oneWriter: seq.oneWriter },
        { backend, dir: opts.dir, allow: opts.allow, views: opts.views }
      )
    ).failure
  const started = Date.now()
  const shrunk = await shrink(seq.ops, async (ops) => (await run(ops))?.kind === failure.kind, {
    deadline: started + opts.shrinkSeconds * 1000,
    page
  })
  let ops = renumber(shrunk.ops)
  let last = await run(ops)
  if (last === null) {
    // renumbering cannot matter; if it did, show the sequence as it failed
    ops = shrunk.ops
    last = (await run(ops)) ?? failure
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  fs.mkdirSync(opts.saveDir, { recursive: true })
  const name = seq.seed === null ? `replay-${process.pid}` : `seed-${seq.seed}`
  const file = path.join(opts.saveDir, `${backend}-${name}.json`)
  const saved = { backend, seed: seq.seed, oneWriter: seq.oneWriter, ops }
  fs.writeFileSync(file, `${JSON.stringify(saved, null, 1)}\n`)
  const inline = JSON.stringify({ oneWriter: seq.oneWriter, ops })
  const relative = path.relative(process.cwd(), file)
  const mode = seq.oneWriter ? 'one writer per file' : 'several views per file'
  const flags = { oneWriter: seq.oneWriter, allow: opts.allow, views: opts.views }
  return [
    `fuzz ${backend}${seq.seed === null ? ', a replayed sequence' : `, seed ${seq.seed}`} (${mode}): ${seq.ops.length} calls, fails at ${where(failure, seq.ops)}:`,
    `  ${failure.message}`,
    `shrunk to ${ops.length} calls (${shrunk.runs} runs, ${seconds} s); files f0, f1 in a temp dir; '>' marks the failing call:`,
    formatSequence(ops, backend, page, seq.oneWriter, opts.allow, last.step),
    `the shrunk sequence fails at ${where(last, ops)}: ${last.message}`,
    seq.seed === null ? '' : `replay the original: ${command(backend, flags, `--seed ${seq.seed}`)}`,
    `replay the shrunk one: ${command(backend, flags, `--replay ${relative}`)}`,
    inline.length < 1500 ? `  or inline: ${command(backend, flags, `--replay '${inline}'`)}` : ''
  ]
    .filter((line) => line !== '')
    .join('\n')
}

/** Sequences first, first + 1, ... until count or time runs out, or one fails. */
export async function campaign(opts: CampaignOptions): Promise<CampaignResult> {
  const started = Date.now()
  const result: CampaignResult = { sequences: 0, steps: 0, longest: 0, seconds: 0, failure: null }
  const gc = (globalThis as { gc?: () => void }).gc
  for (let seed = opts.first; result.sequences < opts.count && Date.now() < opts.until; seed++) {
    opts.onSequence?.(seed)
    const seq: Sequence = {
      seed,
      oneWriter: opts.oneWriter,
      ops: generate(seed, { oneWriter: opts.oneWriter, page: opts.api.PAGE_SIZE })
    }
    const { failure, steps } = await execute(opts.api, seq, {
      backend: opts.backend,
      dir: opts.dir,
      allow: opts.allow,
      views: opts.views
    })
    result.sequences++
    result.steps += steps
    result.longest = Math.max(result.longest, seq.ops.length)
    // Closed wasm views leave their memories to the collector: keep their number down.
    if (gc !== undefined && result.sequences % 25 === 0) gc()
    if (failure !== null) {
      result.failure = await report(opts, seq, failure)
      break
    }
  }
  result.seconds = (Date.now() - started) / 1000
  return result
}
