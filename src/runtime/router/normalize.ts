/**
 * Request path normalization before matching, as Kong's `normalize(uri, true)`
 * (kong/tools/uri.lua): percent-encoded unreserved characters are decoded, other escapes
 * get upper-case hex, `.`/`..` segments are resolved and repeated slashes merged, so
 * `/a/%7Efoo/../b`, `/a//b` and `/a/b` route the same.
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
  if (p.includes('/.') || p.includes('//')) p = removeDotSegments(p)
  return p === '' ? '/' : p
}

const SLASH = 47
const DOT = 46

/**
 * Kong's loop (RFC 3986 §5.2.4 plus `//` → `/`): reads the path from the left, dropping
 * `/./` and `//`, and `/../` with the segment before it; every other segment is kept with
 * its leading slash.
 */
function removeDotSegments(path: string): string {
  const out: string[] = []
  let n = 0
  let i = 0
  const len = path.length
  while (i < len) {
    const a = path.charCodeAt(i)
    const b = i + 1 < len ? path.charCodeAt(i + 1) : -1
    const c = i + 2 < len ? path.charCodeAt(i + 2) : -1
    const d = i + 3 < len ? path.charCodeAt(i + 3) : -1
    const left = len - i
    if (a === SLASH && b === DOT && left === 2) {
      // trailing `/.`: becomes `/`
      out[n++] = '/'
      i = len
    } else if (a === SLASH && b === DOT && c === DOT && left === 3) {
      // trailing `/..`: drops the last segment, becomes `/`
      if (n > 0) n--
      out[n++] = '/'
      i = len
    } else if (a === DOT && (left === 1 || (b === DOT && left === 2))) {
      i = len
    } else if (a === DOT && b === DOT && c === SLASH) {
      i += 3
    } else if (a === DOT && b === SLASH) {
      i += 2
    } else if (a === SLASH && b === DOT && c === SLASH) {
      i += 2
    } else if (a === SLASH && b === DOT && c === DOT && d === SLASH) {
      i += 3
      if (n > 0) n--
    } else if (a === SLASH && b === SLASH) {
      i += 1
    } else {
      const next = path.indexOf('/', i + 1)
      const end = next < 0 ? len : next
      out[n++] = path.slice(i, end)
      i = end
    }
  }
  out.length = n
  return out.join('')
}
