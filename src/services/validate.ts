/** `kctl validate`: files checked offline against the schemas the gateway uses. */
import {buildTarget, loadFiles} from '../declarative/plan.js'
import {asUserErrors} from '../declarative/user-errors.js'
import type {InputLimits} from '../runtime/declarative/limits.js'

export interface ValidateOptions {
  /** Files to read (`-` = stdin), merged. */
  files: string[]
  /** Tags added to every entity, as apply would. */
  selectTags?: string[]
  /** Bounds on the files (defaults: DEFAULT_INPUT_LIMITS). */
  limits?: InputLimits
}

export interface ValidateResult {
  valid: true
  /** Entities per kind. */
  entities: Record<string, number>
  warnings: string[]
}

/** @throws UserError CONFIG_INVALID listing every problem with its file, path and line; INPUT_TOO_LARGE past a limit */
export async function validate(o: ValidateOptions): Promise<ValidateResult> {
  return asUserErrors(async () => {
    const loaded = await loadFiles(o.files, o.selectTags, o.limits)
    const target = buildTarget(loaded)
    const entities = Object.fromEntries(Object.entries(target.state).filter(([, l]) => l.length).map(([k, l]) => [k, l.length]))
    const warnings = [...loaded.raw.warnings]
    if (!loaded.raw.entries.length) warnings.push(`no entities in ${o.files.map((f) => (f === '-' ? '<stdin>' : f)).join(', ')}: \`kctl apply\` refuses such files unless --allow-empty, as applying them would delete every entity on the gateway`)
    return {valid: true as const, entities, warnings}
  })
}
