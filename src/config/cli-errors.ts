/** Engine and Admin API errors → the CLI's user errors (message + what to do next). */
import {UserError} from '../kit/errors.js'
import {AdminApiError, AdminUnreachable} from './admin-client.js'
import {ConfigInvalid} from '../runtime/declarative/errors.js'
import {InputTooLarge} from '../runtime/declarative/limits.js'
import {mask, maskValue} from './render.js'

/**
 * Runs `fn` (a write to the gateway), masking values from the environment in what the
 * gateway answers when it refuses: its messages may quote the values it was sent.
 */
export async function maskingErrors<T>(secrets: readonly string[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (!secrets.length) throw err
    if (err instanceof ConfigInvalid) {
      // The node names entities it cannot place in the files by name: `routes[<name>]`.
      throw new ConfigInvalid(err.problems.map((p) => ({...p, message: mask(p.message, secrets), ...(p.origin ? {origin: {...p.origin, path: mask(p.origin.path, secrets)}} : {})})))
    }
    if (err instanceof AdminApiError) {
      // Strings only: the envelope's numeric code stays what it is.
      const body = err.body ? {...(maskValue(err.body, secrets) as Record<string, any>), code: err.body.code} : undefined
      throw new AdminApiError(mask(err.message, secrets), err.status, body)
    }
    throw err
  }
}

/** Runs `fn`, turning known engine failures into UserErrors; anything else passes through. */
export async function asUserErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof ConfigInvalid) throw new UserError('CONFIG_INVALID', err.message, {hint: 'Fix the entries listed above; nothing was changed.'})
    if (err instanceof InputTooLarge) throw inputTooLarge(err)
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

/** Names the limit and how to raise it; nothing was read past it. */
function inputTooLarge(err: InputTooLarge): UserError {
  const [flag, env, value] = err.limit === 'maxFileSize' ? ['--max-file-size', 'KCTL_MAX_FILE_SIZE', 'SIZE (e.g. 128MiB)'] : ['--max-entities', 'KCTL_MAX_ENTITIES', 'N']
  return new UserError('INPUT_TOO_LARGE', `${err.message} (${flag}).`, {
    hint: `Nothing was changed. Raise the limit with ${flag} ${value} or ${env}, or split the configuration into files applied with --select-tag.`,
  })
}
