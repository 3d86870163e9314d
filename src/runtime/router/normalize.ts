/**
 * Request path normalization before matching, as Kong's `normalize(uri, true)`
 * (kong/tools/uri.lua): every percent-encoded octet is decoded except those of reserved
 * characters (``!*'();:@&=+$,/?%#[]``), whose escapes get upper-case hex; `.`/`..`
 * segments are resolved and repeated slashes merged, so `/a/%7Efoo/../b`, `/a//b` and
 * `/a/b` route the same, and `/caf%C3%A9` matches a route path `/café`. What goes
 * upstream is escaped again (`escapePath`, Kong's `escape`).
 *
 * Kong works on bytes; here a path is a string of characters. Decoded octets are read as
 * UTF-8 (Node refuses raw non-ASCII bytes in a request line, so they can only come from
 * escapes); octets that are not valid UTF-8 keep their escapes, so nothing is lost on the
 * way upstream.
 */

const RESERVED = new Uint8Array(128)
for (const c of "!*'();:@&=+$,/?%#[]") RESERVED[c.charCodeAt(0)] = 1

export function normalizePath(raw: string): string {
  let p = raw.includes('%') ? decodePath(raw) : raw
  if (p.includes('/.') || p.includes('//')) p = removeDotSegments(p)
  return p === '' ? '/' : p
}

const hexValue = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1)

const utf8 = new TextDecoder('utf-8', {fatal: true})

/** Decodes every escape but the reserved characters'; see the header. */
function decodePath(raw: string): string {
  let out = ''
  let bytes: number[] | null = null // a run of decoded non-ASCII octets
  let run = '' // the same run as written (its escapes), kept if it is not UTF-8
  const flush = () => {
    if (!bytes) return
    try {
      out += utf8.decode(Uint8Array.from(bytes))
    } catch {
      out += run.toUpperCase()
    }
    bytes = null
    run = ''
  }
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    const hi = c === 37 && i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 1)) : -1
    const lo = hi >= 0 ? hexValue(raw.charCodeAt(i + 2)) : -1
    if (lo < 0) {
      flush()
      out += raw[i]
      continue
    }
    const octet = hi * 16 + lo
    const escape = raw.slice(i, i + 3)
    i += 2
    if (octet >= 128) {
      ;(bytes ??= []).push(octet)
      run += escape
      continue
    }
    flush()
    out += RESERVED[octet] ? escape.toUpperCase() : String.fromCharCode(octet)
  }
  flush()
  return out
}

/** What Kong's `escape` leaves as it is: reserved and unreserved characters, and `%`. */
const KEEP = new Uint8Array(128)
for (const c of "!#$&'()*+,/:;=?@[]-_.~%") KEEP[c.charCodeAt(0)] = 1
for (let c = 48; c <= 57; c++) KEEP[c] = 1
for (let c = 65; c <= 90; c++) KEEP[c] = KEEP[c + 32] = 1

/**
 * Kong's `escape` for the upstream path: every character outside `KEEP` as `%XX` (upper
 * case, per UTF-8 octet); a path with none is returned as it is.
 */
export function escapePath(path: string): string {
  let i = 0
  while (i < path.length) {
    const c = path.charCodeAt(i)
    if (c >= 128 || !KEEP[c]) break
    i++
  }
  if (i === path.length) return path
  let out = path.slice(0, i)
  for (const ch of path.slice(i)) {
    const c = ch.charCodeAt(0)
    if (ch.length === 1 && c < 128 && KEEP[c]) out += ch
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b < 16 ? '0' : ''}${b.toString(16).toUpperCase()}`
  }
  return out
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
