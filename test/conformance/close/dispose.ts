// closing(view) and Symbol.dispose: Explicit Resource Management.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Ctx } from '../ctx'
import { closedError, expectThrow, fileBytes, tmpFile } from '../../helpers'
import { makers } from './makers'

/** closing(view), disposable struct views, and `using`. */
export function disposal(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  // Explicit Resource Management: `using c = closing(view)` calls c[Symbol.dispose]() at the end of the
  // scope (Node 20 has Symbol.dispose; esbuild lowers `using` for it here). Struct views are disposable
  // themselves (StructArray.prototype); typed-array views are plain typed arrays.
  s('closing(view)[Symbol.dispose]() closes every kind of view; disposing twice, or after close, is harmless', () => {
    for (const [kind, make] of makers(api)) {
      const v = make()
      const c = api.closing(v)
      assert.is(c.view, v, `${kind}: closing(v).view`)
      c[Symbol.dispose]()
      assert.is(v.length, 0, `${kind}: length after dispose`)
      expectThrow(() => api.info(v), closedError, `${kind}: info after dispose`)
      c[Symbol.dispose]()
      api.close(v)
    }
    const m = api.malloc(4)
    const cm = api.closing(m)
    api.free(m)
    cm[Symbol.dispose]()
    expectThrow(
      () => api.closing(new Uint8Array(4)),
      { type: TypeError, message: /mmapfile\.closing: expected a view made by mmapfile/ },
      'closing of a plain array'
    )
  })

  s('a struct view is disposable itself; a typed-array view is a plain typed array', () => {
    const T = api.struct({ a: 'i32' })
    const r = api.malloc(2, T)
    assert.type(r[Symbol.dispose], 'function', 'StructArray views have [Symbol.dispose]')
    r[Symbol.dispose]()
    assert.is(r.length, 0)
    r[Symbol.dispose]()
    const v = api.malloc(3, Int32Array)
    try {
      assert.is(v[Symbol.dispose], undefined, 'no [Symbol.dispose] on a typed-array view')
      assert.is(Object.getPrototypeOf(v), Int32Array.prototype)
      assert.equal(Reflect.ownKeys(v), ['0', '1', '2'], 'no own properties but its elements')
    } finally {
      api.free(v)
    }
  })

  s('using c = closing(create/open/malloc(...)) closes the view at the end of its scope, writing it back', () => {
    const p = tmpFile()
    let kept: any
    {
      using c = api.closing(api.create(p, 4, Int32Array))
      c.view[2] = 7
      kept = c.view
    }
    assert.is(kept.length, 0, 'closed at the end of the block')
    expectThrow(() => api.info(kept), closedError, 'info of the disposed view')
    assert.is(new DataView(fileBytes(p).buffer).getInt32(8, true), 7, 'written back to the file')

    const T = api.struct({ a: 'i32', b: 'f64' })
    const failing = (): never => {
      using w = api.open(p, T, 'rw')
      w.at(0).b = 2.5
      kept = w
      throw new Error('leaving the scope by an exception')
    }
    expectThrow(failing, { type: Error, message: /leaving the scope/ }, 'the exception goes through')
    assert.is(kept.length, 0, 'closed when the scope is left by an exception')
    assert.is(new DataView(fileBytes(p).buffer).getFloat64(8, true), 2.5, 'and written back')

    {
      using m = api.closing(api.malloc(3))
      api.free(m.view) // freed early: the disposal at the end of the scope is harmless
    }
    let grown: any
    {
      using small = api.closing(api.create(p, 2, Int32Array))
      grown = api.resize(small.view, 8) // the view resize returns is the open one; disposing the old is harmless
      kept = small.view
    }
    assert.is(kept.length, 0)
    assert.is(grown.length, 8, 'the view resize returned stays open')
    api.close(grown)
  })
}
