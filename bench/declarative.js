#!/usr/bin/env node
/**
 * Declarative engine at scale: from an empty gateway, a file with 10,000
 * services, 10,000 routes and 1,000 consumers with key-auth credentials; times `apply`,
 * a no-op re-apply and `dump`, each through the same service functions `kctl` runs, against
 * a real Admin API on a throwaway real Postgres (fsync off, as in the tests).
 *
 *   npm run build && node bench/declarative.js      # BENCH_SERVICES=10000 BENCH_CONSUMERS=1000
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startTestAdmin} from '../dist/test/helpers/gateway.js'
import {startTestPostgres} from '../dist/test/helpers/postgres.js'
import {apply} from '../dist/src/services/apply.js'
import {dump} from '../dist/src/services/dump.js'
import {machine, markdownTable} from './lib/stats.js'
import {stopOnExit, tempDir} from './lib/proc.js'

const SERVICES = Number(process.env.BENCH_SERVICES ?? 10_000)
const CONSUMERS = Number(process.env.BENCH_CONSUMERS ?? 1_000)

/** The file: nested routes, consumers with their key. */
export function generate(services, consumers) {
  const lines = ['_format_version: "3.0"', 'services:']
  for (let i = 0; i < services; i++) {
    lines.push(`- name: svc-${i}`, `  url: http://upstream-${i % 50}.internal:8080/api`, '  routes:', `  - name: route-${i}`, `    paths: [/svc/${i}]`)
  }
  lines.push('consumers:')
  for (let i = 0; i < consumers; i++) lines.push(`- username: user-${i}`, '  keyauth_credentials:', `  - key: key-${i}-${'k'.repeat(16)}`)
  return lines.join('\n') + '\n'
}

async function timed(fn) {
  const t = performance.now()
  const value = await fn()
  return {ms: performance.now() - t, value}
}

async function main() {
  stopOnExit()
  const dir = tempDir('kctl-bench-decl-')
  const file = join(dir, 'kong.yaml')
  writeFileSync(file, generate(SERVICES, CONSUMERS))
  const pg = await startTestPostgres('bench')
  const admin = await startTestAdmin(pg)
  try {
    const opts = {files: [file], adminUrl: admin.url, stateRoot: dir, yes: true}
    const first = await timed(() => apply(opts))
    const again = await timed(() => apply(opts))
    const dumped = await timed(() => dump({adminUrl: admin.url, stateRoot: dir, format: 'yaml', output: join(dir, 'dump.yaml')}))
    const s = (r) => `${r.created}/${r.updated}/${r.deleted}`
    const rows = [
      ['apply (from empty)', `${(first.ms / 1000).toFixed(2)} s`, s(first.value.result.summary), '≤ 10 s'],
      ['apply again (no-op)', `${(again.ms / 1000).toFixed(2)} s`, s(again.value.result.summary), '≤ 3 s'],
      ['dump', `${(dumped.ms / 1000).toFixed(2)} s`, Object.values(dumped.value.entities).reduce((a, b) => a + b, 0) + ' entities', '≤ 3 s'],
    ]
    console.log(`${SERVICES} services + ${SERVICES} routes + ${CONSUMERS} consumers with key-auth; ${machine()}`)
    console.log(markdownTable(['step', 'time', 'created/updated/deleted', 'target'], rows))
  } finally {
    await admin.close()
    await pg.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
