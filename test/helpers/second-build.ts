/** A second kctl for upgrade tests: this build copied with another version string. */
import {cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ROOT} from './kctl.js'

/** This build's version (package.json). */
export const THIS_VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string

/** This build copied to `dir` with package.json (and the manifest) saying `version`; returns `dir`. */
export function secondBuild(dir: string, version: string): string {
  mkdirSync(dir, {recursive: true})
  for (const part of ['bin', 'templates', join('dist', 'src')]) cpSync(join(ROOT, part), join(dir, part), {recursive: true})
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({...pkg, version}, null, 2))
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
  writeFileSync(join(dir, 'oclif.manifest.json'), JSON.stringify({...manifest, version}))
  return dir
}
