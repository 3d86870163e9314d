/**
 * Guarded prompts. enquirer hangs or exits 13 silently without a TTY on stdin, so every
 * prompt goes through here: with no TTY or with CI set, nothing is asked and the caller's
 * fallback applies (a default, or an error naming the flag to pass).
 */
import enquirer from 'enquirer'
import {UserError} from './errors.js'

export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY) && !process.env.CI
}

/** Fails because a question cannot be asked: names the flag that answers it. */
export function promptUnavailable(question: string, flag: string): UserError {
  return new UserError('PROMPT_UNAVAILABLE', `Cannot ask "${question}": no interactive terminal.`, {hint: `Pass ${flag}.`})
}

// Prompts write to stderr so stdout stays clean for results.
const io = {stdout: process.stderr} as Record<string, unknown>

export async function select(message: string, choices: string[], initial: string): Promise<string> {
  const answer = (await enquirer.prompt({type: 'select', name: 'v', message, choices, initial: choices.indexOf(initial), ...io} as never)) as {v: string}
  return answer.v
}

export async function input(message: string, initial: string): Promise<string> {
  const answer = (await enquirer.prompt({type: 'input', name: 'v', message, initial, ...io} as never)) as {v: string}
  return answer.v.trim() || initial
}

export async function confirm(message: string): Promise<boolean> {
  const answer = (await enquirer.prompt({type: 'confirm', name: 'v', message, initial: false, ...io} as never)) as {v: boolean}
  return answer.v
}
