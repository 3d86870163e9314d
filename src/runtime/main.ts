#!/usr/bin/env node
/**
 * Entry point of a gateway node: `node main.js --conf kong.conf`. `KONG_*` environment
 * variables override the file. Exits 1 with one `Error: …` line when the node cannot
 * start; drains and exits 0 on SIGTERM or SIGINT.
 */
import {loadConf, ConfError} from './conf/load.js'
import {createLogger, isLogLevel} from './log.js'
import {startDataPlaneNode} from './data-plane-node.js'
import {startDbLessNode} from './dbless-node.js'
import {startDatabaseNode, type RunningNode} from './node.js'
import {workerCount} from './workers/count.js'

function confPath(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--conf' || a === '-c')
  if (i >= 0) return argv[i + 1]
  return argv.find((a) => a.startsWith('--conf='))?.slice('--conf='.length)
}

async function main(): Promise<void> {
  const file = confPath(process.argv.slice(2))
  const unknown: string[] = []
  const conf = loadConf({file, onUnknownKey: (key, near) => unknown.push(`${file}: unknown configuration key ${key} ignored${near ? ` (did you mean ${near}?)` : ''}`)})
  workerCount(conf.node_worker_processes) // a bad value stops the start here, naming the key
  const log = createLogger({level: isLogLevel(conf.log_level) ? conf.log_level : 'notice'})
  for (const line of unknown) log.warn(line)
  process.on('uncaughtException', (err) => {
    log.error(`crashed: ${err.stack ?? err.message}`)
    process.exit(1)
  })
  process.on('unhandledRejection', (err) => log.error(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`))
  let node: RunningNode
  if (conf.role === 'data_plane') node = await startDataPlaneNode(conf, log)
  else if (conf.database === 'postgres') node = await startDatabaseNode(conf, log)
  else node = await startDbLessNode(conf, log)
  const stop = (signal: string) => {
    log.notice(`received ${signal}, draining and stopping`)
    node.close().then(
      () => process.exit(0),
      (err) => {
        log.error(`stopping failed: ${err.message}`)
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}

main().catch((err) => {
  const lines = err instanceof ConfError ? err.errors : [err?.message ?? String(err)]
  for (const l of lines) process.stderr.write(`Error: ${l}\n`)
  process.exit(1)
})
