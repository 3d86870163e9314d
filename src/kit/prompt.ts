/**
 * Guarded prompts. enquirer hangs or exits 13 silently without a TTY on stdin, so every
 * prompt goes through here: with no TTY or with CI set, nothing is asked and the caller's
 * fallback applies (a default, or an error naming the flag to pass).
 */
import enquirer from 'enquirer'
import {inCi} from './ci.js'
import {UserError} from './errors.js'
import {endProgress} from './progress.js'

export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY) && !inCi()
}

/** Fails because a question cannot be asked: names the flag that answers it. */
export function promptUnavailable(question: string, flag: string): UserError {
  return new UserError('PROMPT_UNAVAILABLE', `Cannot ask "${question}": no interactive terminal.`, {hint: `Pass ${flag}.`})
}

// Prompts write to stderr so stdout stays clean for results.
const io = {stdout: process.stderr} as Record<string, unknown>

/**
 * One question. enquirer rejects with an empty string (not an Error) when the user presses
 * Ctrl-C or Esc; that becomes ABORTED, asked before anything changed.
 * @throws UserError ABORTED when the question is cancelled.
 */
async function ask<T>(question: Record<string, unknown>): Promise<T> {
  endProgress() // a spinner would draw over the question
  try {
    return ((await enquirer.prompt({name: 'v', ...question, ...io} as never)) as {v: T}).v
  } catch (err) {
    if (err instanceof Error) throw err
    throw new UserError('ABORTED', `Cancelled at "${question.message}"; nothing was changed.`)
  }
}

export async function select(message: string, choices: string[], initial: string): Promise<string> {
  return ask<string>({type: 'select', message, choices, initial: choices.indexOf(initial)})
}

export async function input(message: string, initial: string): Promise<string> {
  return (await ask<string>({type: 'input', message, initial})).trim() || initial
}

/** Defaults to no: Enter alone declines. */
export async function confirm(message: string): Promise<boolean> {
  return ask<boolean>({type: 'confirm', message, initial: false})
}
