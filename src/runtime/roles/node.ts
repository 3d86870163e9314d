/** What every role's start function returns, and the node id all roles share. */
import {randomUUID} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

export interface RunningNode {
  nodeId: string
  /** Stops accepting, drains, closes. Idempotent. */
  close(): Promise<void>
}

/** The node id persists in `<prefix>/kong.id`, as Kong's does. */
export function nodeIdFor(prefix: string): string {
  const file = join(prefix, 'kong.id')
  try {
    const id = readFileSync(file, 'utf8').trim()
    if (id) return id
  } catch {
    /* first start */
  }
  const id = randomUUID()
  writeFileSync(file, id + '\n', {mode: 0o600})
  return id
}
