#!/usr/bin/env node
/**
 * Entry point of a gateway node: `node main.js --conf kong.conf`. `KONG_*` environment
 * variables override the file.
 *
 * Run by kctl (or by hand), this process is the node's supervisor (supervisor/): it checks
 * the conf, then runs this same file again as the serving process and restarts it when it
 * crashes. Either way the node exits 1 with its `Error: …` line(s) when it cannot start,
 * and drains and exits 0 on SIGTERM or SIGINT.
 */
import {fileURLToPath} from 'node:url'
import {loadConf, ConfError} from './conf/load.js'
import {createLogger, isLogLevel} from './kit/log.js'
import type {RunningNode} from './roles/node.js'
import {HANDOVER_ENV} from './supervisor/protocol.js'
import {supervise} from './supervisor/supervisor.js'
import {activation, drainOnStop, enterSupervised, isSpare, markStarted, onRetire, tell} from './supervisor/serving.js'
import {installTestHooks} from './supervisor/test-hooks.js'
import {workerCount} from './workers/count.js'

function confPath(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--conf' || a === '-c')
  if (i >= 0) return argv[i + 1]
  return argv.find((a) => a.startsWith('--conf='))?.slice('--conf='.length)
}

/** The supervisor: the same checks as the serving process makes first, then supervise. */
async function superviseNode(file: string | undefined): Promise<void> {
  const conf = loadConf({file, onUnknownKey: () => {}})
  workerCount(conf.node_worker_processes) // a bad value stops the start here, naming the key
  const log = createLogger({level: isLogLevel(conf.log_level) ? conf.log_level : 'notice', bindings: {supervisor: process.pid}})
  process.on('uncaughtException', (err) => {
    log.error(`supervisor crashed: ${err.stack ?? err.message}`)
    process.exit(1)
  })
  // a handover: started by the supervisor this one takes over from (supervisor/protocol.ts)
  const handover = Number(process.env[HANDOVER_ENV])
  delete process.env[HANDOVER_ENV]
  const successorOf = handover > 0 && process.send ? {at: handover} : undefined
  const code = await supervise({main: fileURLToPath(import.meta.url), args: process.argv.slice(2), prefix: conf.prefix, log, successorOf})
  process.exit(code)
}

async function serveNode(file: string | undefined): Promise<void> {
  const unknown: string[] = []
  const conf = loadConf({file, onUnknownKey: (key, near) => unknown.push(`${file}: unknown configuration key ${key} ignored${near ? ` (did you mean ${near}?)` : ''}`), onWarning: (message) => unknown.push(message)})
  workerCount(conf.node_worker_processes) // a bad value stops the start here, naming the key
  const log = createLogger({level: isLogLevel(conf.log_level) ? conf.log_level : 'notice'})
  for (const line of unknown) log.warn(line)
  process.on('uncaughtException', (err) => {
    log.error(`crashed: ${err.stack ?? err.message}`)
    const first = String(err?.stack ?? err).split('\n')[0]
    void tell({type: 'crashed', cause: first}).finally(() => process.exit(1))
  })
  process.on('unhandledRejection', (err) => log.error(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`))
  installTestHooks()
  // loaded here, not at the top: the supervisor, which runs this file too, needs none of it
  let node: RunningNode
  if (conf.role === 'data_plane') node = await (await import('./roles/data-plane-node.js')).startDataPlaneNode(conf, log)
  else if (conf.database === 'postgres') node = await (await import('./roles/database-node.js')).startDatabaseNode(conf, log)
  else node = await (await import('./roles/dbless-node.js')).startDbLessNode(conf, log)
  let stopping = false
  const stop = (why: string) => {
    if (stopping) return
    stopping = true
    drainOnStop()
    log.notice(`${why}, draining and stopping`)
    node.close().then(
      () => process.exit(0),
      (err) => {
        log.error(`stopping failed: ${err.message}`)
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => stop('received SIGTERM'))
  process.once('SIGINT', () => stop('received SIGINT'))
  // a reload: a newer serving process accepts on the same sockets from now on
  onRetire(() => stop('a newer serving process took over'))
  // The supervisor was killed (SIGKILL: the node's pid): the node goes with it, at once, as
  // the single process did; nobody would restart or stop this one.
  process.once('disconnect', () => {
    log.error('the supervisor is gone; exiting')
    process.exit(1)
  })
  markStarted()
  await tell({type: 'started', spare: conf.kctl_warm_spare})
}

/**
 * A warm spare (supervisor/protocol.ts): the code of every node role loaded now, the node
 * started only once the supervisor needs it, so a restart after a crash costs the node's
 * own start (database, configuration, listeners) and not Node's and the modules' load.
 */
async function standBy(file: string | undefined): Promise<void> {
  await Promise.all([import('./roles/data-plane-node.js'), import('./roles/database-node.js'), import('./roles/dbless-node.js')])
  const activated = activation()
  await tell({type: 'standing-by'})
  await activated
  await serveNode(file)
}

const file = confPath(process.argv.slice(2))
const supervised = enterSupervised()
;(supervised ? (isSpare() ? standBy(file) : serveNode(file)) : superviseNode(file)).catch(async (err) => {
  const lines = err instanceof ConfError ? err.errors : [err?.message ?? String(err)]
  for (const l of lines) process.stderr.write(`Error: ${l}\n`)
  await tell({type: 'start-failed', message: lines.join('; ')})
  process.exit(1)
})
