/**
 * Errors of the certificate module. It is shared by the CLI and the runtime, so it has its
 * own small error type; callers map `code` to their own tables (exit status, log line).
 */

export type PkiErrorCode =
  /** A file to write exists and overwriting was not allowed. `path` names it. */
  | 'FILE_EXISTS'
  /** A CA key or certificate is not one we can sign with (not EC, or they do not match). */
  | 'CA_UNUSABLE'
  /** The text given is not a PEM certificate. */
  | 'NOT_A_CERTIFICATE'
  /** An option is out of range (days, SANs, common name). */
  | 'INVALID_OPTION'

export class PkiError extends Error {
  constructor(
    readonly code: PkiErrorCode,
    message: string,
    /** The file concerned, when there is one. */
    readonly path?: string,
    options?: {cause?: unknown},
  ) {
    super(message, options)
    this.name = 'PkiError'
  }
}
