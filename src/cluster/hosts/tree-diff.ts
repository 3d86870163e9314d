/**
 * Which entries of a local folder a host lacks: the local tree (files with size and sha256,
 * symlinks, folders) against the listing the host printed, so a copy sends only what differs.
 *
 *   local walk ──┐
 *                ├─▶ treeDiff ─▶ [paths to send] ─▶ tar ─▶ ssh … tar -x
 *   REMOTE_LIST ─┘    (missing, other size, other sha256, other link target)
 */
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import type {Stats} from 'node:fs'
import {lstat, readdir, readlink} from 'node:fs/promises'
import {join} from 'node:path'
import {UserError} from '../../kit/errors.js'
import {inBatches} from '../../kit/in-batches.js'
import type {TreePart} from './host.js'

export type TreeEntry =
  | {kind: 'file'; size: number; sha256: string}
  | {kind: 'link'; target: string}
  | {kind: 'dir'}

/** Paths relative to the root, `./a/b` as find prints them. */
export type Tree = Map<string, TreeEntry>

/**
 * A local folder's entries: a file's sha256 is computed only when the host holds a file of
 * the same size there (a first install hashes nothing).
 */
export type LocalEntry = {kind: 'file'; size: number; abs: string; stats: Stats} | {kind: 'link'; target: string} | {kind: 'dir'}
export type LocalTree = Map<string, LocalEntry>

/**
 * Shell for the host: lists `$dest` (folders, links with targets, files with sizes), then the
 * sha256 sums of the files named on its stdin (`listInput`: the local tree's files, so files
 * of the host that the local tree lacks are not read). Prints nothing when `$dest` does not
 * exist. Needs GNU find, xargs and coreutils.
 */
export function remoteListScript(destQuoted: string): string {
  return [
    `cd -- ${destQuoted} 2>/dev/null || { cat >/dev/null; exit 0; }`,
    `find . -mindepth 1 \\( -type d -printf 'd %p\\n' \\) -o \\( -type l -printf 'l %p\\t%l\\n' \\) -o \\( -type f -printf 'f %s %p\\n' \\)`,
    // a file missing there is only left out (it is sent)
    'xargs -0 -r sha256sum -- 2>/dev/null || true',
  ].join('\n')
}

/** The stdin of `remoteListScript`: the local tree's files, NUL-separated. */
export function listInput(local: LocalTree): string {
  return [...local].filter(([, e]) => e.kind === 'file').map(([p]) => `${p}\0`).join('')
}

/** Parses what `remoteListScript` printed. Lines it does not understand (odd names) are skipped. */
export function parseRemoteList(out: string): Tree {
  const tree: Tree = new Map()
  const sizes = new Map<string, number>()
  for (const line of out.split('\n')) {
    let m: RegExpExecArray | null
    if ((m = /^d (\..*)$/.exec(line))) tree.set(m[1], {kind: 'dir'})
    else if ((m = /^l (\.[^\t]*)\t(.*)$/.exec(line))) tree.set(m[1], {kind: 'link', target: m[2]})
    else if ((m = /^f (\d+) (\..*)$/.exec(line))) sizes.set(m[2], Number(m[1]))
    else if ((m = /^([0-9a-f]{64}) [ *](\..*)$/.exec(line)) && sizes.has(m[2])) tree.set(m[2], {kind: 'file', size: sizes.get(m[2])!, sha256: m[1]})
  }
  return tree
}

/** Walks a local folder. Names holding a newline or a backslash are refused (the listing is line-based). */
export async function localTree(root: string): Promise<LocalTree> {
  const tree: LocalTree = new Map()
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      if (/[\n\\]/.test(name)) throw new UserError('CONFIG_INVALID', `Can't copy ${join(dir, name)}: its name holds a newline or a backslash.`, {hint: 'Rename the file.'})
      const abs = join(dir, name)
      const r = `${rel}/${name}`
      const st = await lstat(abs)
      if (st.isSymbolicLink()) tree.set(r, {kind: 'link', target: await readlink(abs)})
      else if (st.isDirectory()) {
        tree.set(r, {kind: 'dir'})
        await walk(abs, r)
      } else if (st.isFile()) tree.set(r, {kind: 'file', size: st.size, abs, stats: st})
    }
  }
  await walk(root, '.')
  return tree
}

/** A copy's parts: one folder to the destination itself, or the parts as given. */
export const partsOf = (source: string | readonly TreePart[]): readonly TreePart[] => (typeof source === 'string' ? [{from: source, to: '.'}] : source)

/** `./x` of a part that goes to `to`, as a path below the copy's destination. */
const under = (to: string, path: string): string => (to === '.' ? path : `./${to}${path.slice(1)}`)

/**
 * The local trees of a copy's parts as one tree below its destination, and for each part the
 * paths of its own tree (what its pack names) by the path they take below the destination.
 */
export async function localTrees(parts: readonly TreePart[]): Promise<{tree: LocalTree; origin: Map<string, {part: number; path: string}>}> {
  const tree: LocalTree = new Map()
  const origin = new Map<string, {part: number; path: string}>()
  const trees = await Promise.all(parts.map((p) => localTree(p.from)))
  trees.forEach((t, part) => {
    for (const [path, entry] of t) {
      const at = under(parts[part].to, path)
      tree.set(at, entry)
      origin.set(at, {part, path})
    }
  })
  return {tree, origin}
}

/**
 * A file's sha256, computed once per process while its inode, size and times stay the same:
 * the same bundle goes to every host of a cluster, and is hashed here only once.
 */
const sums = new Map<string, {stamp: string; sha256: Promise<string>}>()
function cachedSha256(path: string, st: Stats): Promise<string> {
  const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
  const known = sums.get(path)
  if (known?.stamp === stamp) return known.sha256
  const sha256 = sha256File(path)
  sums.set(path, {stamp, sha256})
  sha256.catch(() => {
    if (sums.get(path)?.sha256 === sha256) sums.delete(path)
  })
  return sha256
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Local entries the remote tree lacks or holds differently, and the file bytes they add up to. */
export async function treeDiff(local: LocalTree, remote: Tree): Promise<{paths: string[]; bytes: number}> {
  // the files the host has at the same size: only those are hashed here (a few at a time)
  const sameSize = [...local].filter(([path, e]) => {
    const there = remote.get(path)
    return e.kind === 'file' && there?.kind === 'file' && there.size === e.size
  })
  const sums = new Map<string, string>()
  await inBatches(sameSize, HASHES_AT_ONCE, async ([path, e]) => {
    if (e.kind === 'file') sums.set(path, await cachedSha256(e.abs, e.stats))
  })
  const paths: string[] = []
  let bytes = 0
  for (const [path, entry] of local) {
    const there = remote.get(path)
    const same =
      there?.kind === entry.kind &&
      (entry.kind === 'dir' ||
        (entry.kind === 'link' && there.kind === 'link' && there.target === entry.target) ||
        (entry.kind === 'file' && there.kind === 'file' && there.sha256 === sums.get(path)))
    if (same) continue
    paths.push(path)
    if (entry.kind === 'file') bytes += entry.size
  }
  return {paths, bytes}
}

/** Local files read at once while comparing (each an open file). */
const HASHES_AT_ONCE = 16
