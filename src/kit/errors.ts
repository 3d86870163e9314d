/**
 * CLI errors, classified by who must act (Shopify's AbortError/BugError split):
 *
 *   UserError      the user can fix it: a message plus what to try next
 *   ExternalError  a command or server we drive failed: which one, its exit code, its output
 *   BugError       our fault: the stack is shown with --verbose or KCTL_DEBUG
 *
 * Every error carries a stable code; EXIT_STATUS is the one table mapping code → exit status.
 */

export const EXIT_STATUS = {
  USAGE: 2,
  SPEC_NOT_FOUND: 1,
  SPEC_INVALID: 1,
  MODE_UNAVAILABLE: 1,
  CLUSTER_NOT_FOUND: 1,
  CLUSTER_SPEC_MISMATCH: 1,
  NODE_NOT_FOUND: 1,
  PROMPT_UNAVAILABLE: 1,
  CONFIRMATION_REQUIRED: 1,
  PORT_IN_USE: 1,
  POSTGRES_UNAVAILABLE: 1,
  POSTGRES_START_FAILED: 1,
  DATABASE_FAILED: 1,
  NODE_START_FAILED: 1,
  /** A spec puts a node on a host kctl cannot operate yet. */
  HOST_UNAVAILABLE: 1,
  NODE_STOP_FAILED: 1,
  /** The new serving process did not start; the node keeps serving the previous configuration. */
  NODE_RELOAD_FAILED: 1,
  /** A runtime version a node should run is not installed, or cannot be installed. */
  RUNTIME_NOT_INSTALLED: 1,
  /** `kctl upgrade` would cross a migration old nodes cannot work with, or has nothing to return to. */
  UPGRADE_REFUSED: 1,
  COMMAND_FAILED: 1,
  ABORTED: 1,
  CERT_FILE_EXISTS: 1,
  CONFIG_INVALID: 1,
  INPUT_TOO_LARGE: 1,
  CONFIG_EMPTY: 1,
  GATEWAY_UNREACHABLE: 1,
  NOT_A_GATEWAY: 1,
  GATEWAY_ANSWER_INVALID: 1,
  GATEWAY_REJECTED: 1,
  CONFIG_CONFLICT: 1,
  APPLY_INCOMPLETE: 1,
  HOST_UNREACHABLE: 1,
  HOST_AUTH_FAILED: 1,
  HOST_KEY_UNKNOWN: 1,
  HOST_KEY_CHANGED: 1,
  /** The change was sent and the answer lost: applied or not, nobody knows. */
  APPLY_OUTCOME_UNKNOWN: 3,
  BUG: 1,
} as const

export type ErrorCode = keyof typeof EXIT_STATUS

export interface KctlErrorOptions {
  /** What to try next, shown under the message. */
  hint?: string
  cause?: unknown
  /** Data for `--json` (`error.details`): what was and was not applied. */
  details?: Record<string, unknown>
}

export class KctlError extends Error {
  readonly code: ErrorCode
  readonly hint?: string
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: KctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.code = code
    this.hint = options.hint
    this.details = options.details
  }

  get exitStatus(): number {
    return EXIT_STATUS[this.code]
  }
}

/** Something the user can fix. Rendered without a stack. */
export class UserError extends KctlError {}

/** A subprocess or server we drive failed; `detail` holds its stderr or log tail. */
export class ExternalError extends KctlError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly detail: string = '',
    options: KctlErrorOptions = {},
  ) {
    super(code, message, options)
  }
}

/** Our bug. The stack is shown with --verbose / KCTL_DEBUG. */
export class BugError extends KctlError {
  constructor(message: string, options: KctlErrorOptions = {}) {
    super('BUG', message, {hint: 'This is a bug in kctl. Re-run with --verbose and report the output.', ...options})
  }
}

/** Exit status for anything thrown: our table for KctlErrors, 1 otherwise. */
export function exitStatusOf(err: unknown): number {
  return err instanceof KctlError ? err.exitStatus : 1
}

/** Last `lines` lines of a text, for log tails in error messages. */
export function tail(text: string, lines = 20): string {
  const all = text.replace(/\s+$/, '').split('\n')
  return all.slice(-lines).join('\n')
}
