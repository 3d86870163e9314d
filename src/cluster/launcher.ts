/**
 * The launcher: runs a gateway node on its host as
 * `node <runtime>/dist/src/runtime/main.js --conf <prefix>/kong.conf` (an installed runtime:
 * runtime-install.ts), detached in its own
 * process group with stdout+stderr appended to `<prefix>/logs/node.log`, so it outlives kctl.
 * Every process and file operation goes through the node's Host.
 *
 *   start → (poll GET <status_listen>/status/ready: 503 … 200) → ready
 *             └─ process exits → NODE_START_FAILED with its `Error:` line and log tail
 */
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ExternalError, tail} from '../kit/errors.js'
import {runtimeEntry} from '../kit/paths.js'
import type {ProcessIdentity} from '../kit/process.js'
import type {Host, HostSpawnOptions} from './hosts/host.js'
import {reachUrl} from './hosts/index.js'
import {listenUrl} from './listen.js'
import type {NodeState} from './state.js'

/**
 * Spawns the node from `entry` (a runtime's main.js; default the package's) with
 * `nodeBinary` (another host: the one kctl installed there) and writes
 * `<prefix>/node.pid`; `runAs`: the user it runs as (another host's service user). Returns the process's identity without waiting; one that exited at
 * once gets an identity no process matches.
 */
export async function startNode(node: NodeState, host: Host, entry = runtimeEntry(), nodeBinary = process.execPath, runAs?: HostSpawnOptions['runAs']): Promise<ProcessIdentity> {
  const proc = await host.spawnDetached(nodeBinary, [entry, '--conf', node.confPath], {logFile: node.logFile, cwd: node.prefix, runAs})
  await host.writeFile(join(node.prefix, 'node.pid'), `${proc.pid}\n`)
  return proc
}

export interface ReadyOptions {
  timeoutMs?: number
  /**
   * What "ready" means (default `/status/ready`). Data planes use `/status`: they are up once
   * they listen, even before a config exists (the control plane may be down on purpose).
   */
  path?: '/status/ready' | '/status'
}

/**
 * Waits until `GET /status/ready` (or `options.path`) answers 200.
 * @throws ExternalError NODE_START_FAILED when the process exits first or the wait times out
 *   (the node is then stopped); the message carries the node's `Error:` line and log tail.
 */
export async function waitNodeReady(node: NodeState, host: Host, proc: ProcessIdentity, options: ReadyOptions = {}): Promise<void> {
  const base = await reachUrl(host, listenUrl(node.listen.status))
  const timeoutMs = options.timeoutMs ?? 60_000
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!(await host.isSameProcess(proc))) throw await startFailure(node, host, 'exited during start', await howItEnded(host, proc))
    // Without a status listener, still being alive after a moment is all we can check.
    if (!base ? Date.now() > deadline - timeoutMs + 1000 : (await readyAnswer(`${base}${options.path ?? '/status/ready'}`)) === 200) return
    if (Date.now() > deadline) {
      await stopNode(proc, host)
      throw await startFailure(node, host, `was not ready within ${Math.round(timeoutMs / 1000)} s`)
    }
    await sleep(100)
  }
}

async function readyAnswer(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, {signal: AbortSignal.timeout(2000)})
    await res.arrayBuffer()
    return res.status
  } catch {
    return undefined
  }
}

/** What is known of a started process that is not running as started: how it exited, or what now has its pid. */
async function howItEnded(host: Host, proc: ProcessIdentity): Promise<string | undefined> {
  const exit = host.exitOf?.(proc.pid)
  if (exit) return `The process (pid ${proc.pid}) ended with ${exit}.`
  const now = await host.processIdentity(proc.pid).catch(() => undefined)
  if (now) return `Pid ${proc.pid} now runs \`${now.command}\` (started ${now.start}), not the process started (\`${proc.command}\`, ${proc.start}).`
  return undefined
}

async function startFailure(node: NodeState, host: Host, what: string, ended?: string): Promise<ExternalError> {
  const log = (await host.readFile(node.logFile).catch(() => undefined))?.toString('utf8') ?? ''
  // The runtime's contract: one `Error: <message>` line on stderr when start fails.
  const reason = log.split('\n').reverse().find((l) => l.startsWith('Error: '))
  const message = `Node ${node.name} ${what}${reason ? `: ${reason.slice('Error: '.length)}` : ''}\n${ended ? `${ended}\n` : ''}--- ${node.logFile} (tail) ---\n${tail(log, 15)}`
  return new ExternalError('NODE_START_FAILED', message, tail(log, 15), {hint: hintFor(reason ?? '')})
}

function hintFor(reason: string): string {
  const m = /listen on (\S+) \((\w+)\)/.exec(reason)
  if (m) return `Free port ${m[1]} or change \`${m[2]}\` of this node in kctl.yaml, then run the command again.`
  return `See the log above; \`kctl logs <node>\` shows the whole log.`
}

/**
 * SIGTERM (the node drains and exits 0), SIGKILL after 15 s; nothing when the recorded
 * process is no longer the one running ('gone').
 */
export async function stopNode(proc: ProcessIdentity, host: Host): Promise<'gone' | 'signalled' | 'killed'> {
  return host.terminate(proc, 'SIGTERM', 15_000)
}
