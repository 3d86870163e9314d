/**
 * A request's target (`GET /services?size=1`) read by every listener, in a way that cannot
 * throw. Node hands over the request line's target as written: `//`, `//[` or `//a:b@`
 * make `new URL(target, base)` read an authority and throw, which an unguarded handler
 * turned into a dead node. As nginx (`merge_slashes on`, which Kong keeps), repeated
 * slashes are one; an absolute-form target (`GET http://host/path`) is read by its path;
 * anything else (`*`, a bare word) is not a target this gateway serves: null, a 400.
 */
export function parseTarget(raw: string | undefined): URL | null {
  let target = raw ?? '/'
  if (!target.startsWith('/')) {
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target)
    if (!m) return null
    target = target.slice(m[0].length) || '/'
    if (!target.startsWith('/')) target = `/${target}`
  }
  const q = target.indexOf('?')
  const path = (q < 0 ? target : target.slice(0, q)).replace(/\/{2,}/g, '/')
  const query = q < 0 ? '' : target.slice(q)
  try {
    // The path starts with exactly one slash: the parser can no longer take it for an authority.
    return new URL(`http://target${path}${query}`)
  } catch {
    return null
  }
}
