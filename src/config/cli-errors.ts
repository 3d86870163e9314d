/** Engine and Admin API errors → the CLI's user errors (message + what to do next). */
import {UserError} from '../kit/errors.js'
import {AdminApiError, AdminUnreachable} from './admin-client.js'
import {ConfigInvalid} from '../runtime/declarative/errors.js'

/** Runs `fn`, turning known engine failures into UserErrors; anything else passes through. */
export async function asUserErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof ConfigInvalid) throw new UserError('CONFIG_INVALID', err.message, {hint: 'Fix the entries listed above; nothing was changed.'})
    if (err instanceof AdminUnreachable) {
      throw new UserError('GATEWAY_UNREACHABLE', `Can't reach the Admin API at ${err.url} (${err.reason}).`, {hint: 'Is the node running? Try `kctl nodes`, or pass --admin-url.'})
    }
    if (err instanceof AdminApiError && err.body?.code === 15) {
      throw new UserError('CONFIG_CONFLICT', `The gateway changed while kctl was applying: ${err.body.message}`, {hint: 'Nothing was changed. Run the command again; it diffs against the current state.'})
    }
    if (err instanceof AdminApiError && err.status === 413) {
      throw new UserError('GATEWAY_REJECTED', `The gateway refused the request as too large: ${err.message}`, {hint: 'Nothing was changed. Split the configuration with --select-tag, or apply to a gateway of this kctl version (it accepts gzipped syncs).'})
    }
    if (err instanceof AdminApiError) {
      const detail = err.body?.flattened_errors ? `\n${JSON.stringify(err.body.flattened_errors, null, 2)}` : ''
      throw new UserError('GATEWAY_REJECTED', `The gateway refused the change: ${err.message}${detail}`, {hint: 'Nothing was changed (one transaction). Fix the file and retry.'})
    }
    throw err
  }
}
