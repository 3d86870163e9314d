/**
 * The pipeline in one place (commands call it through their services):
 *
 *   files ──read/parse──► entries ──(select tags)──► current state ◄── Admin API
 *                                 └──resolve + validate──► target ──diff──► events
 *
 * `--dry-run` and `diff` stop at the events; `apply` sends them to the node.
 */
import {UserError} from '../kit/errors.js'
import {fetchState, openGateway, type Gateway} from './admin-client.js'
import {diffStates} from './diff.js'
import {mask} from './render.js'
import {ConfigInvalid, type ConfigProblem} from '../runtime/declarative/errors.js'
import {flattenFiles, type RawTarget} from '../runtime/declarative/flatten.js'
import {checkEntityCount, DEFAULT_INPUT_LIMITS, type InputLimits} from '../runtime/declarative/limits.js'
import {resolveTarget, type Target} from '../runtime/declarative/resolve.js'
import {readFiles} from '../runtime/declarative/source.js'
import {summarize, type Event, type State, type Summary} from '../runtime/declarative/state.js'

export interface Loaded {
  raw: RawTarget
  selectTags: string[]
}

/**
 * Reads and flattens the files; past a limit it stops before the costly steps.
 * @throws ConfigInvalid, InputTooLarge
 */
export async function loadFiles(files: readonly string[], selectTags: readonly string[] = [], limits: InputLimits = DEFAULT_INPUT_LIMITS): Promise<Loaded> {
  const parsed = await readFiles(files, undefined, limits)
  checkEntityCount(parsed, limits.maxEntities)
  const problems: ConfigProblem[] = []
  const raw = flattenFiles(parsed, problems)
  if (problems.length) throw new ConfigInvalid(problems)
  return {raw, selectTags: [...new Set([...selectTags, ...raw.selectTags])]}
}

/**
 * Resolves ids and references and validates every entity.
 * @throws ConfigInvalid with every problem, values from the environment masked in them
 */
export function buildTarget(loaded: Loaded, current?: State): Target {
  const problems: ConfigProblem[] = []
  const target = resolveTarget(loaded.raw, {current, selectTags: loaded.selectTags}, problems)
  if (problems.length) throw new ConfigInvalid(problems.map((p) => ({...p, message: mask(p.message, loaded.raw.secrets)})))
  return target
}

export interface Plan {
  current: State
  target: Target
  events: Event[]
  summary: Summary
  warnings: string[]
  /** Values from the environment, masked in output. */
  secrets: string[]
  selectTags: string[]
  /** The gateway the plan was made against, checked to be a Kong Admin API. */
  gateway: Gateway
}

/**
 * The files are read and checked first, the gateway asked second: a file that is too big,
 * empty or invalid is refused whatever the gateway's state.
 * @param gateway a URL is checked (`GET /`) to be a Kong Admin API once the files are read
 * @param allowEmpty files with no entities are a plan to delete everything; refused
 * unless this is set (a cut-short file must not empty a gateway)
 * @throws UserError CONFIG_EMPTY, ConfigInvalid, AdminUnreachable
 */
export async function planSync(gateway: Gateway | string, files: readonly string[], selectTags: readonly string[] = [], limits?: InputLimits, allowEmpty = false): Promise<Plan> {
  const loaded = await loadFiles(files, selectTags, limits)
  if (!allowEmpty) refuseEmpty(files, loaded)
  const gw = typeof gateway === 'string' ? await openGateway(gateway) : gateway
  const current = await fetchState(gw, loaded.selectTags)
  const target = buildTarget(loaded, current)
  const events = diffStates(current, target.state, target.untransformed)
  return {current, target, events, summary: summarize(events), warnings: loaded.raw.warnings, secrets: loaded.raw.secrets, selectTags: loaded.selectTags, gateway: gw}
}

/** Files with no entity at all: refused, saying what was found and how to empty a gateway on purpose. */
function refuseEmpty(files: readonly string[], loaded: Loaded): void {
  if (loaded.raw.entries.length) return
  const names = files.map((f) => (f === '-' ? '<stdin>' : f)).join(', ')
  const tags = loaded.selectTags.length ? ` tagged ${loaded.selectTags.join(', ')}` : ''
  const reset = `kctl reset${loaded.selectTags.map((t) => ` --select-tag ${t}`).join('')}`
  throw new UserError('CONFIG_EMPTY', `${names} ${files.length === 1 ? 'holds' : 'hold'} no entities (no services, routes, consumers, plugins, …): applying ${files.length === 1 ? 'it' : 'them'} would delete every entity${tags} on the gateway.`, {
    hint: `Nothing was changed. If the file should not be empty, it may have been cut short: check it. To empty the gateway on purpose, run \`${reset}\`, or pass --allow-empty.`,
  })
}

/** An apply that deletes more than half of the entities it manages. */
export interface MassDelete {
  deleted: number
  /** Entities on the gateway before (those with the select tags, when given). */
  total: number
  /** deleted / total, rounded. */
  percent: number
}

export function massDelete(plan: Pick<Plan, 'current' | 'summary'>): MassDelete | null {
  const total = Object.values(plan.current).reduce((n, rows) => n + rows.length, 0)
  const deleted = plan.summary.deleted
  if (!total || deleted * 2 <= total) return null
  return {deleted, total, percent: Math.round((deleted / total) * 100)}
}
