// node:path (POSIX) for the conformance files in a page: what they call, over '/'-separated paths.
export const sep = '/'

export function normalize(p: string): string {
  const out: string[] = []
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') out.pop()
    else out.push(part)
  }
  return `${p.startsWith('/') ? '/' : ''}${out.join('/')}` || '.'
}
export const isAbsolute = (p: string): boolean => p.startsWith('/')
export const join = (...parts: string[]): string => normalize(parts.filter((x) => x !== '').join('/'))
export const resolve = (...parts: string[]): string =>
  normalize(['/', ...parts].reduce((a, b) => (b.startsWith('/') ? b : `${a}/${b}`)))
export const dirname = (p: string): string => {
  const i = p.replace(/\/+$/, '').lastIndexOf('/')
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i)
}
export const basename = (p: string): string => p.replace(/\/+$/, '').split('/').pop() ?? ''
export function relative(from: string, to: string): string {
  const a = resolve(from).split('/').filter(Boolean)
  const b = resolve(to).split('/').filter(Boolean)
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/')
}
export default { sep, normalize, isAbsolute, join, resolve, dirname, basename, relative }
