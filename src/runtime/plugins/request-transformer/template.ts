/**
 * request-transformer's value templates, as Kong's (pl.template with `$(…)`): the text
 * between `$(` and its matching `)` is an expression over `headers`, `query_params`,
 * `uri_captures` and `shared`, rendered with Lua's `tostring`. kctl evaluates a
 * Lua-expression subset with no Lua at all: names, `.name` and `[…]` indexing, string,
 * number, `nil`/`true`/`false` literals, `or`, `and`, `not`, `..`, comparisons,
 * arithmetic and the calls `type(…)`, `tostring(…)`, `string.sub/upper/lower/len/format`
 * (what Kong's default sandbox offers templates). A syntax error is refused when the
 * config is written; any other function (`require`…) fails when rendered, as a nil global
 * in Kong's sandbox does.
 */

type Value = unknown
export type Env = Record<string, Value>

type Tok = {t: 'name' | 'num' | 'str' | 'op' | 'end'; v: string}

const KEYWORDS = new Set(['and', 'or', 'not', 'nil', 'true', 'false'])

function tokenize(src: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) {
      i++
      continue
    }
    let m: RegExpExecArray | null
    const rest = src.slice(i)
    if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) out.push({t: 'name', v: m[0]})
    else if ((m = /^(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)/.exec(rest))) out.push({t: 'num', v: m[0]})
    else if (c === '"' || c === "'") {
      let j = i + 1
      let s = ''
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[++j]
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e
        } else s += src[j]
        j++
      }
      if (j >= src.length) throw new Error('unfinished string')
      out.push({t: 'str', v: s})
      i = j + 1
      continue
    } else if ((m = /^(?:\.\.|==|~=|<=|>=|[-+*/%^#<>()[\]{}.,=:;])/.exec(rest))) out.push({t: 'op', v: m[0]})
    else throw new Error(`unexpected symbol near '${c}'`)
    i += m[0].length
  }
  out.push({t: 'end', v: '<eof>'})
  return out
}

/** Expression tree. */
type Node =
  | {k: 'lit'; v: Value}
  | {k: 'name'; n: string}
  | {k: 'index'; o: Node; i: Node}
  | {k: 'call'; f: Node; a: Node[]}
  | {k: 'bin'; op: string; l: Node; r: Node}
  | {k: 'un'; op: string; e: Node}

const PREC: Record<string, number> = {or: 1, and: 2, '<': 3, '>': 3, '<=': 3, '>=': 3, '~=': 3, '==': 3, '..': 5, '+': 6, '-': 6, '*': 7, '/': 7, '%': 7, '^': 10}
const RIGHT = new Set(['..', '^'])

function parse(src: string): Node {
  const toks = tokenize(src)
  let p = 0
  const peek = () => toks[p]
  const next = () => toks[p++]
  const expect = (v: string) => {
    const t = next()
    if (t.v !== v || t.t === 'str') throw new Error(`'${v}' expected near '${t.v}'`)
  }
  const binop = (t: Tok) => (t.t === 'op' || (t.t === 'name' && (t.v === 'and' || t.v === 'or'))) && PREC[t.v] !== undefined
  function expr(min: number): Node {
    let left: Node
    const t = peek()
    if ((t.t === 'name' && t.v === 'not') || (t.t === 'op' && (t.v === '-' || t.v === '#'))) {
      next()
      left = {k: 'un', op: t.v, e: expr(8)}
    } else left = simple()
    for (;;) {
      const o = peek()
      if (!binop(o)) break
      const prec = PREC[o.v]
      if (prec < min) break
      next()
      left = {k: 'bin', op: o.v, l: left, r: expr(RIGHT.has(o.v) ? prec : prec + 1)}
    }
    return left
  }
  function simple(): Node {
    const t = next()
    if (t.t === 'num') return {k: 'lit', v: Number(t.v)}
    if (t.t === 'str') return postfix({k: 'lit', v: t.v})
    if (t.t === 'name') {
      if (t.v === 'nil') return {k: 'lit', v: undefined}
      if (t.v === 'true' || t.v === 'false') return {k: 'lit', v: t.v === 'true'}
      if (KEYWORDS.has(t.v)) throw new Error(`unexpected symbol near '${t.v}'`)
      return postfix({k: 'name', n: t.v})
    }
    if (t.v === '(') {
      const e = expr(1)
      expect(')')
      return postfix(e)
    }
    throw new Error(`unexpected symbol near '${t.v}'`)
  }
  function postfix(node: Node): Node {
    for (;;) {
      const t = peek()
      if (t.t !== 'op') return node
      if (t.v === '.') {
        next()
        const n = next()
        if (n.t !== 'name') throw new Error(`<name> expected near '${n.v}'`)
        node = {k: 'index', o: node, i: {k: 'lit', v: n.v}}
      } else if (t.v === '[') {
        next()
        const i = expr(1)
        expect(']')
        node = {k: 'index', o: node, i}
      } else if (t.v === '(') {
        next()
        const a: Node[] = []
        if (peek().v !== ')') {
          a.push(expr(1))
          while (peek().v === ',' && peek().t === 'op') {
            next()
            a.push(expr(1))
          }
        }
        expect(')')
        node = {k: 'call', f: node, a}
      } else return node
    }
  }
  const tree = expr(1)
  if (peek().t !== 'end') throw new Error(`'<eof>' expected near '${peek().v}'`)
  return tree
}

const luaType = (v: Value): string =>
  v === undefined || v === null ? 'nil' : typeof v === 'object' ? 'table' : typeof v === 'function' ? 'function' : typeof v

function tostring(v: Value): string {
  if (v === undefined || v === null) return 'nil'
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v)
  if (typeof v === 'object') return 'table'
  return String(v)
}

/** Lua's string.sub with its 1-based, negative-from-the-end indices. */
function sub(s: string, i = 1, j = -1): string {
  const n = s.length
  if (i < 0) i = Math.max(n + i + 1, 1)
  else if (i === 0) i = 1
  if (j < 0) j = n + j + 1
  else if (j > n) j = n
  return i > j ? '' : s.slice(i - 1, j)
}

function format(fmt: string, ...args: Value[]): string {
  let k = 0
  return fmt.replace(/%([-0-9.]*)([sdqf%])/g, (_m, _w, c: string) => (c === '%' ? '%' : c === 'd' ? String(Math.trunc(Number(args[k++]))) : tostring(args[k++])))
}

const FUNCTIONS: Record<string, (...a: Value[]) => Value> = {
  type: luaType,
  tostring,
  // the indices as the template gives them (number literals), unset ones defaulted by sub
  'string.sub': (s, i, j) => sub(tostring(s), i as number | undefined, j as number | undefined),
  'string.upper': (s) => tostring(s).toUpperCase(),
  'string.lower': (s) => tostring(s).toLowerCase(),
  'string.len': (s) => tostring(s).length,
  'string.format': (f, ...a) => format(tostring(f), ...a),
}

/** The callee's name (`type`, `string.sub`), or null when it is no plain name. */
function calleeName(f: Node): string | null {
  if (f.k === 'name') return f.n
  if (f.k === 'index' && f.o.k === 'name' && f.i.k === 'lit' && typeof f.i.v === 'string') return `${f.o.n}.${f.i.v}`
  return null
}

const truthy = (v: Value) => v !== undefined && v !== null && v !== false

function evaluate(n: Node, env: Env): Value {
  switch (n.k) {
    case 'lit':
      return n.v
    case 'name':
      return n.n === 'type' || n.n === 'tostring' || n.n === 'string' ? undefined : env[n.n]
    case 'index': {
      const o = evaluate(n.o, env)
      const i = evaluate(n.i, env)
      if (o === undefined || o === null) throw new Error(`attempt to index a nil value`)
      if (typeof o === 'function') return (o as (k: Value) => Value)(i)
      if (typeof o !== 'object') return undefined
      // a list (a repeated header or argument) is a Lua sequence: indexed from 1
      if (Array.isArray(o)) return typeof i === 'number' && Number.isInteger(i) && i >= 1 ? (o[i - 1] as Value) : undefined
      return (o as Record<string, Value>)[String(i)]
    }
    case 'call': {
      const name = calleeName(n.f)
      const f = name === null ? undefined : FUNCTIONS[name]
      if (!f) throw new Error(`attempt to call a nil value (${name === null ? 'expression' : `global '${name}'`})`)
      return f(...n.a.map((a) => evaluate(a, env)))
    }
    case 'un': {
      const v = evaluate(n.e, env)
      if (n.op === 'not') return !truthy(v)
      if (n.op === '#') return typeof v === 'string' ? v.length : Array.isArray(v) ? v.length : 0
      return -Number(v)
    }
    case 'bin': {
      if (n.op === 'or') {
        const l = evaluate(n.l, env)
        return truthy(l) ? l : evaluate(n.r, env)
      }
      if (n.op === 'and') {
        const l = evaluate(n.l, env)
        return truthy(l) ? evaluate(n.r, env) : l
      }
      const l = evaluate(n.l, env)
      const r = evaluate(n.r, env)
      switch (n.op) {
        case '..':
          return tostring(l) + tostring(r)
        case '==':
          return l === r
        case '~=':
          return l !== r
        case '<':
          return (l as number) < (r as number)
        case '>':
          return (l as number) > (r as number)
        case '<=':
          return (l as number) <= (r as number)
        case '>=':
          return (l as number) >= (r as number)
      }
      const a = Number(l)
      const b = Number(r)
      if (Number.isNaN(a) || Number.isNaN(b)) throw new Error('attempt to perform arithmetic on a nil value')
      return n.op === '+' ? a + b : n.op === '-' ? a - b : n.op === '*' ? a * b : n.op === '/' ? a / b : n.op === '%' ? a % b : a ** b
    }
  }
}

/** A template split into text and expressions. */
type Compiled = Array<string | Node>

/** `$(` … matching `)`, as pl.template's `%b()`. */
function split(src: string): Array<string | {expr: string}> {
  const out: Array<string | {expr: string}> = []
  let i = 0
  let text = ''
  while (i < src.length) {
    if (src[i] === '$' && src[i + 1] === '(') {
      let depth = 0
      let j = i + 1
      for (; j < src.length; j++) {
        if (src[j] === '(') depth++
        else if (src[j] === ')' && --depth === 0) break
      }
      if (j >= src.length) {
        text += src.slice(i)
        break
      }
      if (text) out.push(text)
      text = ''
      out.push({expr: src.slice(i + 2, j)})
      i = j + 1
    } else text += src[i++]
  }
  if (text) out.push(text)
  return out
}

const cache = new Map<string, Compiled>()

/** Compiles a template; throws with the reason when it is not one kctl can render. */
export function compileTemplate(src: string): Compiled {
  let c = cache.get(src)
  if (!c) {
    c = split(src).map((p) => {
      if (typeof p === 'string') return p
      return parse(p.expr)
    })
    if (cache.size > 1000) cache.clear()
    cache.set(src, c)
  }
  return c
}

/** Whether a value contains a template expression at all (most do not). */
export const isTemplate = (src: string) => src.includes('$(')

/** Renders a template against the request's values. */
export function renderTemplate(src: string, env: Env): string {
  if (!isTemplate(src)) return src
  return compileTemplate(src)
    .map((p) => (typeof p === 'string' ? p : tostring(evaluate(p, env))))
    .join('')
}

/** The schema's check: null when the template compiles, else Kong's message. */
export function templateError(value: string): string | null {
  if (!isTemplate(value)) return null
  try {
    compileTemplate(value)
    return null
  } catch (err) {
    return `value '${value}' is not in supported format, error:${(err as Error).message}`
  }
}
