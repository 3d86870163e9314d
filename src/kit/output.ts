/**
 * Output helpers. Results go to stdout (so `kctl … --json | jq` works); progress, warnings
 * and errors go to stderr. Colour only on a TTY and never with NO_COLOR.
 */
import {endProgress} from './progress.js'

const useColor = (stream: NodeJS.WriteStream): boolean => Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'

const paint = (code: number, stream: NodeJS.WriteStream) => (s: string) => (useColor(stream) ? `\u001B[${code}m${s}\u001B[0m` : s)

export const style = {
  bold: paint(1, process.stderr),
  dim: paint(2, process.stderr),
  red: paint(31, process.stderr),
  green: paint(32, process.stderr),
  yellow: paint(33, process.stderr),
  cyan: paint(36, process.stderr),
}

/** How services report progress without touching the console themselves. */
export interface Reporter {
  /** A phase or step begins. */
  step(title: string): void
  /** A detail under the current step. */
  info(message: string): void
  warn(message: string): void
}

/** Progress on stderr, plain lines (fine without a TTY). */
export const stderrReporter: Reporter = {
  step: (title) => process.stderr.write(`${style.cyan('▸')} ${title}\n`),
  info: (message) => process.stderr.write(`  ${style.dim(message)}\n`),
  warn: (message) => process.stderr.write(`${style.yellow('!')} ${message}\n`),
}

/** Swallows progress (JSON mode and tests). */
export const silentReporter: Reporter = {step: () => {}, info: () => {}, warn: () => {}}

/** A result line on stdout; it ends the progress display first (progress.ts). */
export function print(line = ''): void {
  endProgress()
  process.stdout.write(`${line}\n`)
}

/** Renders rows as aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ')
  return [line(headers), ...rows.map(line)].join('\n')
}

/** `Started: a, b` lines for the groups that have names; `nothing` when none has any. */
export function namesSummary(groups: [label: string, names: readonly string[]][], nothing: string): string[] {
  const lines = groups.filter(([, names]) => names.length).map(([label, names]) => `${label}: ${names.join(', ')}`)
  return lines.length ? lines : [nothing]
}
