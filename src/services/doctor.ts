/**
 * `kctl doctor`: is this machine ready for `kctl init`, and is the cluster of this spec
 * healthy where it runs? Every check says what it found and, when it fails, what to do.
 *
 *   spec        kctl.yaml read and valid (absent: machine checks only)
 *   machine     node version, Postgres binaries, Postgres user (root), disk space
 *   ports       each listener free, or held by this cluster's own running process
 *   cluster     when it runs: database, then each node's process and endpoints
 */
import {existsSync} from 'node:fs'
import {clusterDir} from '../kit/paths.js'
import {loadSpec, type ClusterSpec} from '../cluster/spec.js'
import {readState} from '../cluster/state.js'
import {specPathOf, type ClusterRef} from './cluster.js'
import {checkExternalDatabase, checkPorts, checkRunningCluster, clusterRunning} from './doctor-cluster.js'
import {checkDisk, checkNode, checkPostgresBinaries, checkPostgresUser, fail, pass, type Check} from './doctor-machine.js'

export type {Check} from './doctor-machine.js'

export type DoctorOptions = ClusterRef

/** The JSON contract of `kctl doctor --json`. */
export interface DoctorResult {
  checks: Check[]
  /** True when every check passed (exit 0). */
  ok: boolean
}

export async function doctor(options: DoctorOptions): Promise<DoctorResult> {
  const specPath = specPathOf(options)
  const {spec, check: specCheck} = await readSpec(specPath)
  const state = spec ? await readState(clusterDir(options.stateRoot, spec.metadata.name)).catch(() => undefined) : undefined
  const running = await clusterRunning(state)
  if (spec) specCheck.detail += running ? ', running' : state ? ', set up, not running' : ', not set up yet'
  const embedded = !spec || 'embedded' in spec.spec.database
  const checks: Check[] = [specCheck, await checkNode()]
  if (embedded) {
    checks.push(await checkPostgresBinaries())
    const user = await checkPostgresUser()
    if (user) checks.push(user)
  }
  checks.push(await checkDisk(options.stateRoot))
  if (spec) {
    checks.push(...(await checkPorts(spec, specPath, state)))
    if (running) checks.push(...(await checkRunningCluster(state!)))
    else if ('url' in spec.spec.database) checks.push(await checkExternalDatabase(spec.spec.database.url))
  }
  return {checks, ok: checks.every((c) => c.ok)}
}

async function readSpec(specPath: string): Promise<{spec?: ClusterSpec; check: Check}> {
  if (!existsSync(specPath)) {
    return {check: pass('spec', `no spec at ${specPath}: machine checks only (ports and cluster are checked against a kctl.yaml; \`kctl init\` writes one)`)}
  }
  try {
    const spec = await loadSpec(specPath)
    return {spec, check: pass('spec', `${specPath}: cluster ${spec.metadata.name} (${spec.spec.mode})`)}
  } catch (err) {
    const e = err as {message: string; hint?: string}
    return {check: fail('spec', e.message, e.hint ?? `Fix ${specPath}, then run \`kctl doctor\` again.`)}
  }
}
