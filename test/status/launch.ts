/**
 * Starts a runtime node the way the local launcher does (detached, its own process group,
 * output appended to `logs/node.log`, `node.pid` written) from a record and conf values.
 */
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {listenUrl} from '../../src/cluster/listen.js'
import type {NodeState} from '../../src/cluster/state.js'
import {spawnDetached} from '../../src/kit/exec.js'
import {runtimeEntry} from '../../src/kit/paths.js'
import {isAlive} from '../../src/kit/process.js'
import {until} from '../helpers/until.js'

export interface Launched {
  pid: number
  kill(signal: NodeJS.Signals): void
  /** Resolves once the process is gone. */
  gone(): Promise<void>
  /** Resolves once `/status/ready` answers 200. @throws when the node exits or the wait times out. */
  ready(): Promise<void>
}

export async function launchNode(node: NodeState, values: Record<string, string | number>): Promise<Launched> {
  await mkdir(join(node.prefix, 'logs'), {recursive: true})
  await writeFile(node.confPath, Object.entries({prefix: node.prefix, ...values}).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n', {mode: 0o600})
  const pid = spawnDetached(process.execPath, [runtimeEntry(), '--conf', node.confPath], {logFile: node.logFile, cwd: node.prefix})
  await writeFile(join(node.prefix, 'node.pid'), `${pid}\n`)
  const status = listenUrl(node.listen.status)
  return {
    pid,
    kill: (signal) => {
      if (isAlive(pid)) process.kill(pid, signal)
    },
    gone: () => until(`${node.name} (pid ${pid}) to be gone`, () => !isAlive(pid)).then(() => undefined),
    ready: () =>
      until(
        `${status}/status/ready of ${node.name} to answer 200`,
        async () => {
          const r = await fetch(`${status}/status/ready`)
          await r.arrayBuffer()
          return r.status
        },
        {ok: (s) => s === 200, abort: () => (isAlive(pid) ? undefined : `${node.name} exited during start (see ${node.logFile})`)},
      ).then(() => undefined),
  }
}
