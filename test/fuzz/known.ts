// Deviations from API.md that the fuzzer found on main (1e821f3) outside issue 7's list, allowed by
// name so that the rest of each model keeps being checked until they are fixed. Every run prints
// which it allows; `npm run fuzz -- --strict` allows none. Delete an entry when its fix lands:
// the model then holds the backends to API.md there too.

export const KNOWN = {
  /**
   * API.md: "reading or writing a field of a record whose view was closed is a TypeError with code
   * 'ERR_MMAPFILE_CLOSED'". Both backends: the record's DataView throws V8's own TypeError
   * ("Cannot perform DataView.prototype.setUint16 on a detached ArrayBuffer"), without the code.
   * Allowed: any TypeError.
   */
  'closed-record-code': 'a record of a closed view throws a TypeError without code ERR_MMAPFILE_CLOSED'
} as const

export type Known = keyof typeof KNOWN

export const ALL_KNOWN: readonly Known[] = Object.keys(KNOWN) as Known[]

export function parseKnown (list: string): Known[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const name of names) {
    if (!(name in KNOWN)) throw new Error(`fuzz: unknown deviation ${name}; known: ${ALL_KNOWN.join(', ')}`)
  }
  return names as Known[]
}
