/**
 * The one way a test waits: poll `probe` until it gives a value that passes `ok` (truthy
 * by default) and return that value. A timeout is a bound on a broken run, never a timing
 * assertion: nothing a test checks may depend on how fast the machine is.
 *
 *   const row = await until('the CP lists the DP', async () => (await rows()).find((r) => r.id === id))
 *   await until('the DP serves /s', () => fetch(url).then((r) => r.status), {ok: (s) => s === 200})
 *
 * On timeout it throws naming what was awaited and the last value seen (or the last error
 * the probe threw), so a failure says where the run stood rather than only "timed out".
 */
import {inspect} from 'node:util'

export interface UntilOptions<T> {
  /** When a value counts as reached; truthy by default. */
  ok?: (value: T) => boolean
  /** Give up after this long (default 30 s: a bound for a loaded machine, not a budget). */
  timeoutMs?: number
  /** Pause between probes (default 50 ms). */
  intervalMs?: number
  /** Called before every probe: a reason to stop waiting now (e.g. the process exited), or undefined to go on. */
  abort?: () => string | undefined
  /** Appended to the failure message, e.g. a process's output. */
  context?: () => string
}

/** What a truthy check lets through. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>

/** @throws when `timeoutMs` passes (or `abort` gives a reason) before `probe` gives a value that passes `ok`. */
export function until<T>(what: string, probe: () => T | Promise<T>, opts: UntilOptions<T> & {ok: (value: T) => boolean}): Promise<T>
export function until<T>(what: string, probe: () => T | Promise<T>, opts?: Omit<UntilOptions<T>, 'ok'>): Promise<Truthy<T>>
export async function until<T>(what: string, probe: () => T | Promise<T>, opts: UntilOptions<T> = {}): Promise<T> {
  const {ok = (v: T) => Boolean(v), timeoutMs = 30_000, intervalMs = 50} = opts
  const start = Date.now()
  let last: {value: T} | {error: unknown} | undefined
  for (;;) {
    const stop = opts.abort?.()
    if (stop) throw new Error(`stopped waiting for ${what}: ${stop}${describe(last)}${extra(opts)}`)
    try {
      const value = await probe()
      if (ok(value)) return value
      last = {value}
    } catch (error) {
      last = {error}
    }
    if (Date.now() - start >= timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe(last)}${extra(opts)}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

function describe(last: {value: unknown} | {error: unknown} | undefined): string {
  if (!last) return ''
  if ('error' in last) return `; the last probe threw: ${last.error instanceof Error ? last.error.message : String(last.error)}`
  const text = inspect(last.value, {depth: 4, breakLength: Infinity, maxStringLength: 2000})
  return `; last value seen: ${text.length > 2000 ? text.slice(0, 2000) + '…' : text}`
}

const extra = (opts: {context?: () => string}): string => {
  const more = opts.context?.()
  return more ? `\n${more}` : ''
}
