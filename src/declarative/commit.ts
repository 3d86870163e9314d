/**
 * Writes the events the way the gateway takes them (see `openGateway`):
 *
 *   sync      POST /kctl/sync {events}                  one transaction
 *   config    current + events → POST /config           one swap (DB-less, dbless.ts)
 *   entities  PUT/POST/DELETE per entity                not one transaction (entity-apply.ts)
 *
 * When the connection fails after a one-shot write was sent and before its answer, or
 * the answer is not what a successful write answers, the outcome is unknown:
 * OutcomeUnknown, never "nothing applied".
 */
import {fetchState, postSync, UnexpectedAnswer, AnswerLost, type Gateway} from './admin-client.js'
import {configBody, postConfig, stateAfter} from './dbless.js'
import {applyEntities} from './entity-apply.js'
import type {Target} from '../runtime/declarative/resolve.js'
import {summarize, type Event, type State, type Summary} from '../runtime/declarative/state.js'

/** The change was sent; whether the gateway applied it is unknown (`reason`: what happened). */
export class OutcomeUnknown extends Error {
  constructor(
    readonly url: string,
    readonly reason: Error,
  ) {
    super(reason.message)
    this.name = 'OutcomeUnknown'
  }
}

export interface CommitContext {
  /** The state the events were computed from. */
  current: State
  /** When set, `current` holds only entities with these tags. */
  selectTags: readonly string[]
  /** The target, to name failing entities by their place in the files. */
  target?: Target
}

/**
 * @throws ConfigInvalid when a DB-less node refuses the configuration (Kong's code 14),
 *   OutcomeUnknown, PartialApply (entity by entity), AdminApiError / AdminUnreachable otherwise
 */
export async function commitEvents(gw: Gateway, events: readonly Event[], ctx: CommitContext): Promise<Summary> {
  if (gw.writes === 'entities') return applyEntities(gw.url, events)
  try {
    if (gw.writes === 'sync') return await postSync(gw.url, events)
    const all = ctx.selectTags.length ? await fetchState(gw) : ctx.current
    await postConfig(gw.url, configBody(stateAfter(all, events), events, all), ctx.target)
    return summarize(events)
  } catch (err) {
    if (err instanceof AnswerLost || err instanceof UnexpectedAnswer) throw new OutcomeUnknown(gw.url, err)
    throw err
  }
}
