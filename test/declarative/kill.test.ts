/**
 * A killed apply leaves the old state or the new one, never a mix: a large apply
 * (3,000 services with a route each, replacing 10 old ones) against a real node on real
 * Postgres, with (1) the `kctl apply` process SIGKILLed while the node's transaction runs
 * and (2) the node itself SIGKILLed mid-transaction, then restarted. Each test checks
 * that its kill landed while the transaction was writing; when the apply finished first
 * (a fast machine), it tries again with a larger file.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import pg from 'pg'
import {findFreePort} from '../../src/kit/ports.js'
import {ROOT} from '../helpers/kctl.js'
import {killAll, type NodeProcess, spawnNode} from '../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {until} from '../helpers/until.js'

/** Sizes of the new configuration, tried in turn until a kill lands mid-transaction. */
const SIZES = [3000, 6000, 12000]
let pgs: TestPostgres
let dir: string

before(async () => {
  pgs = await startTestPostgres()
  dir = await mkdtemp(join(tmpdir(), 'kctl-kill-'))
})
after(async () => {
  killAll()
  await pgs?.stop()
  await rm(dir, {recursive: true, force: true})
})

const services = (prefix: string, n: number) =>
  `_format_version: "3.0"\nservices:\n` + Array.from({length: n}, (_, i) => `- name: ${prefix}-${i}\n  host: h${i}.example\n  routes:\n  - name: ${prefix}-r${i}\n    paths: [/${prefix}/${i}]\n`).join('')

async function startNode(database: string, prefix?: string): Promise<{node: NodeProcess; admin: string}> {
  const [a, p, s] = [await findFreePort(), await findFreePort(), await findFreePort()]
  const conf = {pg_host: pgs.host, pg_port: pgs.port, pg_user: pgs.user, pg_password: pgs.password, pg_database: database}
  const node = spawnNode(dir, {...conf, admin_listen: `127.0.0.1:${a}`, proxy_listen: `127.0.0.1:${p}`, status_listen: `127.0.0.1:${s}`}, {status: `http://127.0.0.1:${s}`, prefix})
  await node.waitReady()
  return {node, admin: `http://127.0.0.1:${a}`}
}

function kctlApply(file: string, adminUrl: string) {
  const env = {...process.env, CI: 'true', NO_COLOR: '1', KCTL_DATA_DIR: join(dir, 'data')}
  return spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'apply', file, '--admin-url', adminUrl, '--yes'], {env, stdio: 'ignore'})
}

/** Resolves once the node's sync transaction is writing rows (seen from Postgres itself). */
async function waitWriting(client: pg.Client, database: string, done: () => boolean): Promise<boolean> {
  const seen = await until(
    'the sync transaction writing rows (or the apply ending)',
    async () => {
      if (done()) return 'ended'
      const r = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND xact_start IS NOT NULL AND query ILIKE 'INSERT INTO%'`, [database])
      return r.rows[0].n > 0 ? 'writing' : undefined
    },
    {intervalMs: 2},
  )
  return seen === 'writing'
}

/** Waits until no transaction is open on the database, then reads what is committed. */
async function settledNames(client: pg.Client, database: string): Promise<{services: string[]; routes: number}> {
  await until(
    'no open transaction on the database',
    async () => (await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND xact_start IS NOT NULL AND pid <> pg_backend_pid() AND state <> 'idle'`, [database])).rows[0].n,
    {ok: (n) => n === 0},
  )
  const s = await client.query('SELECT name FROM services ORDER BY name')
  const r = await client.query('SELECT count(*)::int AS n FROM routes')
  return {services: s.rows.map((x) => x.name), routes: r.rows[0].n}
}

function assertOldOrNew(state: {services: string[]; routes: number}, big: number): string {
  const isOld = state.services.length === 10 && state.services.every((n) => n.startsWith('old-')) && state.routes === 10
  const isNew = state.services.length === big && state.services.every((n) => n.startsWith('new-')) && state.routes === big
  assert.ok(isOld || isNew, `a mix: ${state.services.length} services (${state.services.filter((n) => n.startsWith('old-')).length} old), ${state.routes} routes`)
  return isOld ? 'old' : 'new'
}

async function prepare(database: string) {
  const conn = await pgs.migratedDatabase(database)
  const client = new pg.Client(conn)
  await client.connect()
  const oldFile = join(dir, `${database}-old.yaml`)
  await writeFile(oldFile, services('old', 10))
  const newFile = async (n: number) => {
    const f = join(dir, `${database}-new-${n}.yaml`)
    await writeFile(f, services('new', n))
    return f
  }
  return {client, oldFile, newFile}
}

/** Starts `kctl apply` of `file`; `exit` resolves with its exit code and the signal that ended it. */
function startApply(file: string, admin: string) {
  const p = kctlApply(file, admin)
  const exit = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((r) => p.on('exit', (code, signal) => r({code, signal})))
  return {p, exit}
}

async function applyOld(file: string, admin: string): Promise<void> {
  const p = kctlApply(file, admin)
  assert.equal(await new Promise((r) => p.on('exit', r)), 0)
}

describe('a killed apply', () => {
  it('SIGKILL of kctl apply mid-request: old state or new state, never a mix', async () => {
    const {client, oldFile, newFile} = await prepare('kill_cli')
    const {node, admin} = await startNode('kill_cli')
    try {
      let killed = false
      for (const n of SIZES) {
        // Also puts the old state back after an attempt that finished before the kill.
        await applyOld(oldFile, admin)
        const {p, exit} = startApply(await newFile(n), admin)
        const caught = await waitWriting(client, 'kill_cli', () => p.exitCode !== null)
        if (caught) p.kill('SIGKILL')
        // Killed only if it was still running: otherwise the apply won the race.
        if ((await exit).signal !== 'SIGKILL') continue
        killed = true
        assertOldOrNew(await settledNames(client, 'kill_cli'), n)
        break
      }
      assert.ok(killed, `kctl apply finished before the kill at every size (${SIZES.join(', ')} services)`)
      // The node is still healthy and serves what is committed.
      assert.equal((await fetch(`${admin}/status`)).status, 200)
    } finally {
      await client.end()
      await node.stop()
    }
  })

  it('SIGKILL of the node mid-transaction, then restart: the old state, never a mix', async () => {
    const {client, oldFile, newFile} = await prepare('kill_node')
    let {node, admin} = await startNode('kill_node')
    try {
      let killed = false
      for (const n of SIZES) {
        await applyOld(oldFile, admin)
        const {p, exit} = startApply(await newFile(n), admin)
        if (!(await waitWriting(client, 'kill_node', () => p.exitCode !== null))) {
          await exit
          continue
        }
        node.proc.kill('SIGKILL')
        await node.exited
        killed = true
        assert.notEqual((await exit).code, 0, 'kctl reported success for an apply whose node died mid-transaction')
        assert.equal(assertOldOrNew(await settledNames(client, 'kill_node'), n), 'old', 'a transaction cut by the node dying was committed')
        break
      }
      assert.ok(killed, `the apply finished before the node was killed at every size (${SIZES.join(', ')} services)`)
      ;({node, admin} = await startNode('kill_node', node.prefix))
      const res = await fetch(`${admin}/services?size=1000`).then((r) => r.json())
      assert.deepEqual(res.data.map((s: any) => s.name).sort(), Array.from({length: 10}, (_, i) => `old-${i}`).sort())
    } finally {
      await client.end()
      await node.stop()
    }
  })
})
