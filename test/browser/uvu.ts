// uvu's `suite`/`test` for the conformance files in a page (test/browser/run.ts): the same calls
// (a test, .skip, .before/.after and their .each, .run), but each test is kept, by name, and run by
// runSuites(), which reports every test as passed, failed or skipped with its reason, for
// test/browser.test.mjs to count one by one. A test that throws Skip (test/browser/helpers.ts: it
// reached for something a page does not have, a child process, /proc, a descriptor) is a skip.

/** Thrown by what a page cannot do; the test that reaches it is reported skipped, with the reason. */
export class Skip extends Error {
  constructor(readonly reason: string) {
    super(`skipped: ${reason}`)
  }
}

type Fn = (context?: unknown) => unknown
interface Entry {
  name: string
  fn: Fn | null
  reason: string | null
}
interface Suite {
  name: string
  tests: Entry[]
  before: Fn[]
  after: Fn[]
  beforeEach: Fn[]
  afterEach: Fn[]
}

export interface Result {
  suite: string
  name: string
  status: 'passed' | 'failed' | 'skipped'
  message: string
}

const queued: Suite[] = []
/** The reason skipTest() (test/browser/helpers.ts) gives for the next .skip of a suite. */
let nextSkipReason: string | null = null
export function skipReason(reason: string): void {
  nextSkipReason = reason
}

export function suite(name = '', context: unknown = {}): any {
  const s: Suite = { name, tests: [], before: [], after: [], beforeEach: [], afterEach: [] }
  const test: any = (title: string, fn: Fn) => {
    s.tests.push({ name: title, fn, reason: null })
  }
  test.skip = (title: string, fn?: Fn) => {
    s.tests.push({
      name: title ?? '',
      fn: fn ?? null,
      reason: nextSkipReason ?? 'skipped by the test file (no reason given)'
    })
    nextSkipReason = null
  }
  test.only = () => {
    throw new Error(`${name}: test.only is not for the conformance files`)
  }
  test.before = (fn: Fn) => {
    s.before.push(fn)
  }
  test.before.each = (fn: Fn) => {
    s.beforeEach.push(fn)
  }
  test.after = (fn: Fn) => {
    s.after.push(fn)
  }
  test.after.each = (fn: Fn) => {
    s.afterEach.push(fn)
  }
  test.run = () => {
    queued.push(s)
  }
  ;(s as any).context = context
  return test
}

export const test = suite()

function describe(error: unknown): string {
  const e = error as { name?: string; message?: string; stack?: string }
  return e?.stack ?? `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`
}

/** Runs every suite queued so far, in order; never throws. */
export async function runSuites(): Promise<Result[]> {
  const results: Result[] = []
  for (const s of queued.splice(0)) {
    const context = (s as any).context
    let setup: string | null = null
    try {
      for (const fn of s.before) await fn(context)
    } catch (error) {
      setup = `before(): ${describe(error)}`
    }
    for (const t of s.tests) {
      const report = (status: Result['status'], message = ''): void => {
        results.push({ suite: s.name, name: t.name, status, message })
      }
      if (t.reason !== null) {
        report('skipped', t.reason)
        continue
      }
      if (setup !== null) {
        report('failed', setup)
        continue
      }
      try {
        for (const fn of s.beforeEach) await fn(context)
        await t.fn!(context)
        for (const fn of s.afterEach) await fn(context)
        report('passed')
      } catch (error) {
        try {
          for (const fn of s.afterEach) await fn(context)
        } catch {
          /* the test's own error is the one to show */
        }
        if (error instanceof Skip) report('skipped', error.reason)
        else report('failed', describe(error))
      }
    }
    try {
      for (const fn of s.after) await fn(context)
    } catch (error) {
      results.push({ suite: s.name, name: 'after()', status: 'failed', message: describe(error) })
    }
  }
  return results
}
