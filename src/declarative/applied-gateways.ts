/**
 * Gateways this user already applied to, so only the first apply that deletes asks for
 * confirmation (it may remove entities made by hand before kctl managed the gateway).
 * Kept as a small JSON list in kctl's state directory; losing it only means one more
 * question.
 */
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

const FILE = 'applied-gateways.json'

async function read(stateRoot: string): Promise<string[]> {
  try {
    const list = JSON.parse(await readFile(join(stateRoot, FILE), 'utf8'))
    return Array.isArray(list) ? list.filter((x) => typeof x === 'string') : []
  } catch {
    return []
  }
}

export async function appliedBefore(stateRoot: string, adminUrl: string): Promise<boolean> {
  return (await read(stateRoot)).includes(adminUrl)
}

export async function recordApplied(stateRoot: string, adminUrl: string): Promise<void> {
  const list = await read(stateRoot)
  if (list.includes(adminUrl)) return
  await mkdir(stateRoot, {recursive: true})
  await writeFile(join(stateRoot, FILE), JSON.stringify([...list, adminUrl], null, 2) + '\n')
}
