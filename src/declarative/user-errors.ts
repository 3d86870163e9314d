/** Engine and Admin API errors → the CLI's user errors (message + what to do next). */
import {UserError} from '../kit/errors.js'
import {AdminApiError, AdminUnreachable, AnswerLost, NotAGateway, UnexpectedAnswer} from './admin-client.js'
import {OutcomeUnknown} from './commit.js'
import {PartialApply} from './entity-apply.js'
import {ConfigInvalid} from '../runtime/declarative/errors.js'
import {InputTooLarge} from '../runtime/declarative/limits.js'
import type {Event, State} from '../runtime/declarative/state.js'
import {getSchema} from '../runtime/schema/registry.js'
import {entityLabel, mask, maskValue} from './render.js'

/**
 * Runs `fn` (a write to the gateway), masking values from the environment in what the
 * gateway answers when it refuses: its messages may quote the values it was sent.
 */
export async function maskingErrors<T>(secrets: readonly string[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw secrets.length ? masked(err, secrets) : err
  }
}

function masked(err: unknown, secrets: readonly string[]): unknown {
  if (err instanceof ConfigInvalid) {
    // The node names entities it cannot place in the files by name: `routes[<name>]`.
    return new ConfigInvalid(err.problems.map((p) => ({...p, message: mask(p.message, secrets), ...(p.origin ? {origin: {...p.origin, path: mask(p.origin.path, secrets)}} : {})})))
  }
  if (err instanceof AdminApiError) {
    // Strings only: the envelope's numeric code stays what it is.
    const body = err.body ? {...(maskValue(err.body, secrets) as Record<string, unknown>), code: err.body.code} : undefined
    return new AdminApiError(mask(err.message, secrets), err.status, body)
  }
  if (err instanceof PartialApply) return new PartialApply(err.applied, err.failed, err.notApplied, masked(err.reason, secrets) as Error, err.unknown)
  return err
}

/** Runs `fn`, turning known engine failures into UserErrors; anything else passes through. */
export async function asUserErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof ConfigInvalid) throw new UserError('CONFIG_INVALID', err.message, {hint: 'Fix the entries listed above; nothing was changed.'})
    if (err instanceof InputTooLarge) throw inputTooLarge(err)
    if (err instanceof PartialApply) throw incompleteApply(err, (e) => `${VERB[e.op]} ${getSchema(e.kind)?.singular ?? e.kind} ${e.entity.id}`)
    if (err instanceof NotAGateway) {
      throw new UserError('NOT_A_GATEWAY', err.message, {
        hint: `Nothing was read or changed. Check --admin-url (or KCTL_ADMIN_URL): it must be a node's Admin API port (Kong's default 8001), not its proxy port or another server. \`kctl status\` lists each node's admin listener.`,
      })
    }
    if (err instanceof OutcomeUnknown) {
      throw new UserError('APPLY_OUTCOME_UNKNOWN', `${capitalize(err.reason.message.replace(/\.$/, ''))}. Whether the gateway applied the change is unknown.`, {
        hint: 'Check with `kctl diff` and the same files (or `kctl dump`): no changes left means it was applied; otherwise run the command again.',
      })
    }
    if (err instanceof UnexpectedAnswer) {
      throw new UserError('GATEWAY_ANSWER_INVALID', err.message, {hint: 'Nothing was changed. Check that --admin-url (KCTL_ADMIN_URL) points at a Kong Admin API.'})
    }
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

const VERB = {create: 'creating', update: 'updating', delete: 'deleting'} as const

/** A change as the diff says it: `creating service svc1`. */
export const eventName = (e: Event, states: readonly State[], secrets: readonly string[]): string =>
  mask(`${VERB[e.op]} ${getSchema(e.kind)?.singular ?? e.kind} ${entityLabel(e.kind, e.entity, states)}`, secrets)

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

/** Lines listed in the message; `--json` has them all. */
const LISTED = 20

/**
 * An apply entity by entity that stopped in the middle: what went in, what did not, and
 * (exit 3) whether the failed one did when its answer was lost. `name` says each
 * change the way the diff does (`creating service svc1`).
 */
export function incompleteApply(err: PartialApply, name: (e: Event) => string): UserError {
  const list = (title: string, events: readonly Event[]) => {
    if (!events.length) return []
    const shown = events.slice(0, LISTED).map((e) => `  ${name(e)}`)
    return [`${title} (${events.length}):`, ...shown, ...(events.length > LISTED ? [`  … and ${events.length - LISTED} more`] : [])]
  }
  const why = (r: Error) =>
    r instanceof AdminApiError
      ? `the gateway refused it: ${r.message}${r.body?.flattened_errors ? `\n${JSON.stringify(r.body.flattened_errors, null, 2)}` : ''}`
      : r instanceof AnswerLost
        ? `the connection failed after the request was sent and before its answer came (${r.reason})`
        : r.message
  const failed = err.unknown ? `Unknown whether applied (1):\n  ${name(err.failed)}` : `Failed (1):\n  ${name(err.failed)}`
  const lines = [`The apply stopped at ${name(err.failed)}: ${why(err.reason)}.`, ...list('Applied', err.applied), failed, ...list('Not applied', err.notApplied)]
  const item = (e: Event) => ({op: e.op, kind: e.kind, id: e.entity.id, name: name(e)})
  return new UserError(err.unknown ? 'APPLY_OUTCOME_UNKNOWN' : 'APPLY_INCOMPLETE', lines.join('\n'), {
    hint: `The gateway takes changes entity by entity (not one transaction), so ${err.applied.length ? 'those applied stay' : 'nothing was applied'}. ${err.unknown ? 'Check with `kctl diff` and the same files what is left, then' : 'Fix the cause, then'} run the command again: it applies only what is missing.`,
    details: {transactional: false, applied: err.applied.map(item), failed: {...item(err.failed), outcome: err.unknown ? 'unknown' : 'failed'}, not_applied: err.notApplied.map(item)},
  })
}

/** Names the limit and how to raise it; nothing was read past it. */
function inputTooLarge(err: InputTooLarge): UserError {
  const [flag, env, value] = err.limit === 'maxFileSize' ? ['--max-file-size', 'KCTL_MAX_FILE_SIZE', 'SIZE (e.g. 128MiB)'] : ['--max-entities', 'KCTL_MAX_ENTITIES', 'N']
  return new UserError('INPUT_TOO_LARGE', `${err.message} (${flag}).`, {
    hint: `Nothing was changed. Raise the limit with ${flag} ${value} or ${env}, or split the configuration into files applied with --select-tag.`,
  })
}
