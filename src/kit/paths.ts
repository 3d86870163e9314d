/** Where things live: the package itself, and kctl's state (one folder per cluster). */
import {readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The installed package's root (holds bin/, dist/, templates/). */
export function packageRoot(): string {
  // This file is dist/src/kit/paths.js once built.
  return resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..')
}

export const templatesDir = (): string => join(packageRoot(), 'templates')

/** This kctl's release: the package's `version`. */
export function packageVersion(): string {
  return String(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version)
}

/** The node entry point in the package (each cluster runs an installed copy: cluster/runtime-install.ts). */
export const runtimeEntry = (): string => join(packageRoot(), 'dist', 'src', 'runtime', 'main.js')

/** State root: KCTL_DATA_DIR, else oclif's data dir (XDG: ~/.local/share/kctl). */
export function stateRoot(oclifDataDir: string): string {
  return resolve(process.env.KCTL_DATA_DIR || oclifDataDir)
}

/** One folder per cluster. */
export const clusterDir = (root: string, name: string): string => join(root, 'clusters', name)
