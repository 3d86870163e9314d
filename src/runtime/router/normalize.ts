/**
 * Request path normalization before matching, as Kong's `normalize(uri, true)`:
 * percent-encoded unreserved characters are decoded, other escapes get upper-case hex,
 * and `.`/`..` segments are resolved, so `/a/%7Efoo/../b` and `/a/b` route the same.
 */

const HEX = /%([0-9a-fA-F]{2})/g
const UNRESERVED = /[A-Za-z0-9\-._~]/

export function normalizePath(raw: string): string {
  let p = raw.includes('%')
    ? raw.replace(HEX, (m, h: string) => {
        const c = String.fromCharCode(parseInt(h, 16))
        return UNRESERVED.test(c) ? c : '%' + h.toUpperCase()
      })
    : raw
  if (p.includes('/.')) p = removeDotSegments(p)
  return p === '' ? '/' : p
}

/** RFC 3986 §5.2.4, for absolute paths. */
function removeDotSegments(path: string): string {
  const out: string[] = []
  const segs = path.split('/')
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]
    const last = i === segs.length - 1
    if (s === '.') {
      if (last) out.push('')
    } else if (s === '..') {
      out.pop()
      if (last) out.push('')
    } else {
      out.push(s)
    }
  }
  return '/' + out.join('/')
}
