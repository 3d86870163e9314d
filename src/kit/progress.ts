/**
 * Long work on a terminal: each step is oclif's spinner with the time it has taken so far
 * and its latest detail; it ends as `done (2.4s)` when the next step begins, a result is
 * printed or an error is shown, and its details and warnings follow that line, so the
 * screen reads as the plain output does. Without a terminal, with CI set or TERM=dumb:
 * the plain lines of output.ts's stderrReporter instead (same text, no spinner).
 *
 *   ▸ Database... done (1.9s)
 *     starting Postgres on 127.0.0.1:5433
 *   ▸ Migrations... ⠙ 3s
 */
import {ux} from '@oclif/core'

/** The spinner is for people at a terminal (the same test as oclif's ux.action). */
export const spinnerWanted = (): boolean => Boolean(process.stderr.isTTY) && !process.env.CI && !['dumb', 'emacs-color'].includes(process.env.TERM ?? '')

const color = (name: string, s: string) => (process.env.NO_COLOR ? s : ux.colorize(name, s))

let step: {startedAt: number; timer: NodeJS.Timeout; details: string[]; latest: string} | undefined

const took = (s: NonNullable<typeof step>, digits: number) => `${((Date.now() - s.startedAt) / 1000).toFixed(digits)}s`
const status = (s: NonNullable<typeof step>) => [took(s, 0), s.latest].filter(Boolean).join(' · ')

/** Ends the running step, if any: `done (…)` or, before an error is shown, `failed (…)`; then its details. */
export function endProgress(ok = true): void {
  const s = step
  if (!s) return
  step = undefined
  clearInterval(s.timer)
  ux.action.stop(ok ? `done (${took(s, 1)})` : color('red', `failed (${took(s, 1)})`))
  for (const line of s.details) process.stderr.write(`${line}\n`)
}

function detail(line: string, latest: string): void {
  if (!step) return void process.stderr.write(`${line}\n`)
  step.details.push(line)
  step.latest = latest
  ux.action.status = status(step)
}

/** A Reporter (output.ts) drawing the spinner. */
export const spinnerReporter = {
  step(title: string): void {
    endProgress()
    const s = {startedAt: Date.now(), details: [] as string[], latest: '', timer: setInterval(() => (ux.action.status = status(s)), 250)}
    s.timer.unref() // the spinner redraws itself every 100 ms with the status it holds
    step = s
    ux.action.start(`${color('cyan', '▸')} ${title}`, status(s))
  },
  info: (message: string): void => detail(`  ${color('dim', message)}`, message),
  warn: (message: string): void => detail(`${color('yellow', '!')} ${message}`, `! ${message}`),
}
