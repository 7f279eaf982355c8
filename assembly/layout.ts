// Where things are in the module's memory (assembly/index.ts draws the whole layout).

export const PAGE: usize = 65536
/** Where the mapped bytes start. */
export const WINDOW: usize = 196608
/** The largest window: what is left of 4 GiB after the module's pages and the fingerprints. */
export const MAX_WINDOW: usize = 4293656576
