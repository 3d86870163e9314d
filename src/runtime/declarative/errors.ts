/**
 * Problems found in declarative files. Every problem names where it is: the file, the
 * entity's path inside it (`services[0].routes[1]`) and, for YAML, the line.
 */

export interface Origin {
  file: string
  /** `services[0].routes[1]`: where the entity is written in the file. */
  path: string
  /** 1-based line of the entity in the file, when known. */
  line?: number
  /** The same path as keys (`['services', 0, 'routes', 1]`), for Kong's nested error table. */
  keys?: ReadonlyArray<string | number>
}

export interface ConfigProblem {
  origin?: Origin
  /** Field inside the entity (`config.minute`), empty for the whole entity. */
  field?: string
  message: string
  /** What to do about it, for people reading the CLI's output (Kong's error table leaves it out). */
  hint?: string
  /**
   * How Kong's error table says it, where it differs: its own message, set as the entry's
   * value (not under `@entity`), at `keys` when Kong files it elsewhere than the entry.
   */
  kong?: {message: string; keys?: ReadonlyArray<string | number>}
  /** The entities are still validated after it (an unknown top-level key), and reported with it, as Kong does. */
  tolerable?: boolean
}

/** Problems that stop before the entities are validated. */
export const blocking = (problems: readonly ConfigProblem[]): boolean => problems.some((p) => !p.tolerable)

export const describeOrigin = (o?: Origin): string => (o ? `${o.file}${o.line ? `:${o.line}` : ''}: ${o.path}` : '')

export function formatProblem(p: ConfigProblem): string {
  const where = describeOrigin(p.origin)
  const field = p.field ? `${p.field}: ` : ''
  const text = `${field}${p.message}${p.hint ? `: ${p.hint}` : ''}`
  return where ? `${where}: ${text}` : text
}

/** Thrown with every problem found, never just the first. */
export class ConfigInvalid extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(`invalid declarative configuration (${problems.length} error${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`)
    this.name = 'ConfigInvalid'
  }
}
