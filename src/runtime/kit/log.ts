/**
 * The runtime's logger: one line per event on stderr, filtered by `log_level` (Kong's
 * nginx levels, lowest to highest: debug, info, notice, warn, error, crit, alert, emerg).
 *
 *   2025/01/31 12:00:00 [warn] proxy: upstream timed out route=… request_id=…
 *
 * Child loggers bind key=value fields (node, request, plugin). Values of keys that look
 * like secrets (password, key, cert, token, secret, authorization) are replaced by `***`,
 * so a certificate or a password never reaches a log line by accident.
 */

export type LogLevel = 'debug' | 'info' | 'notice' | 'warn' | 'error' | 'crit' | 'alert' | 'emerg'
export type LogFields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  notice(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** A logger that adds `bindings` to every line. */
  child(bindings: LogFields): Logger
  /** Whether lines at `level` are written (absent: assume they are). */
  enabled?(level: LogLevel): boolean
}

const RANK: Record<LogLevel, number> = {debug: 0, info: 1, notice: 2, warn: 3, error: 4, crit: 5, alert: 6, emerg: 7}
const SECRET = /pass|secret|token|key|cert|authorization|cookie/i

export interface LoggerOptions {
  /** Lowest level written; Kong's default is `notice`. */
  level?: LogLevel
  /** Where lines go; stderr by default. */
  write?: (line: string) => void
  /** Fields bound to every line. */
  bindings?: LogFields
}

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && v in RANK
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = RANK[opts.level ?? 'notice']
  const write = opts.write ?? ((line: string) => void process.stderr.write(line + '\n'))
  const make = (bindings: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (RANK[level] < min) return
      write(`${timestamp()} [${level}] ${msg}${formatFields({...bindings, ...fields})}`)
    }
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      notice: (m, f) => emit('notice', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (b) => make({...bindings, ...b}),
      enabled: (level) => RANK[level] >= min,
    }
  }
  return make(opts.bindings ?? {})
}

/** A logger that drops everything; handy as a default in tests. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  notice() {},
  warn() {},
  error() {},
  child: () => silentLogger,
}

function formatFields(fields: LogFields): string {
  let out = ''
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue
    out += ` ${k}=${SECRET.test(k) ? '***' : formatValue(v)}`
  }
  return out
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message)
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return typeof v === 'string' && /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s)
}

function timestamp(): string {
  const d = new Date()
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}
