/**
 * Joins the service path and the request path, as Kong does per `path_handling`
 * (kong/router/utils.lua and Kong's "path handling algorithms" table).
 *
 *   service.path  route.path  request    strip  v0          v1
 *   /s            /fv0        /fv0req    no     /s/fv0req   /sfv0req
 *   /s            /tv0        /tv0req    yes    /s/req      /sreq
 *   /s            /tv0        /tv0       yes    /s          /s
 *   /s            /tv0/       /tv0/      yes    /s/         /s
 *
 * `postfix` is the request path after the stripped prefix (strip_path), else the request
 * path without its leading slash.
 */

export function upstreamPath(handling: string, strip: boolean, base: string, postfix: string, reqPath: string): string {
  return handling === 'v1' ? joinV1(strip, base, postfix, reqPath) : joinV0(strip, base, postfix, reqPath)
}

/** Kong's `sanitize_uri_postfix`: a stripped remainder never climbs above the service path. */
export function sanitizePostfix(postfix: string): string {
  if (postfix === '.' || postfix === '..') return ''
  if (postfix.startsWith('./')) return postfix.slice(2)
  if (postfix.startsWith('../')) return postfix.slice(3)
  return postfix
}

function joinV0(strip: boolean, base: string, postfix: string, reqPath: string): string {
  if (base.endsWith('/')) {
    if (!strip) return base + reqPath.slice(1)
    if (postfix === '') {
      if (base === '/') return '/'
      return reqPath.endsWith('/') ? base : base.slice(0, -1)
    }
    return postfix.startsWith('/') ? base.slice(0, -1) + postfix : base + postfix
  }
  if (!strip) return reqPath === '/' ? base : base + reqPath
  if (postfix === '') return reqPath.length > 1 && reqPath.endsWith('/') ? base + '/' : base
  return postfix.startsWith('/') ? base + postfix : base + '/' + postfix
}

function joinV1(strip: boolean, base: string, postfix: string, reqPath: string): string {
  let out: string
  if (!strip) out = base + reqPath.slice(1)
  else if (base.endsWith('/') && postfix.startsWith('/')) out = base.slice(0, -1) + postfix
  else out = base + postfix
  return out.startsWith('/') ? out : '/' + out
}
