/**
 * PCRE spellings Kong's route paths accept that JavaScript's RegExp spells differently:
 * Python-style named groups `(?P<name>…)` and back-references `(?P=name)`. Kong's
 * request-transformer specs route on `~/requests/user1/(?P<user1>\w+)`.
 */
export function pcreToJs(src: string): string {
  return src.replace(/(^|[^\\])\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '$1(?<$2>').replace(/(^|[^\\])\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/g, '$1\\k<$2>')
}
