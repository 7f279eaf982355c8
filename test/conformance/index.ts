// Registers every area of the conformance suite for one entry point. Each area makes one uvu
// suite per exported function it covers; uvu runs them in this order.
import type { Ctx } from './ctx'
import struct from './struct'
import create from './create'
import open from './open'
import large from './large'
import close from './close'
import sync from './sync'
import malloc from './malloc'
import resize from './resize'
import sharedFile from './shared-file'
import coherence from './coherence'
import exit from './exit'
import space from './space'
import advise from './advise'
import gc from './gc'
import info from './info'
import faults from './faults'
import fd from './fd'
import visible from './visible'
import mmapIo from './mmap-io'
import messages from './messages'

export type { Ctx } from './ctx'

export function runConformance(ctx: Ctx): void {
  for (const register of [
    info,
    struct,
    create,
    open,
    fd,
    large,
    close,
    sync,
    visible,
    malloc,
    resize,
    sharedFile,
    coherence,
    advise,
    gc,
    exit,
    space,
    faults,
    mmapIo,
    messages
  ])
    register(ctx)
}
