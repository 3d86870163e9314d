/**
 * Property-based fuzzing of a real traditional node (a real process over real Postgres):
 * hostile request targets, methods, content types and bodies against the Admin API, the
 * proxy and the status listener. Whatever comes in, the node stays up on the same
 * process, answers no 5xx of its own, and every refusal of the Admin API and the status
 * listener is Kong's error envelope (`{"message": …}`).
 *
 * A fixed seed keeps CI repeatable; `FUZZ_SCALE` and `FUZZ_SEED` widen it (bench/fuzz.js).
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import type {Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import fc from 'fast-check'
import {findFreePort} from '../../src/kit/ports.js'
import {create, startUpstream} from '../helpers/http.js'
import {freshDatabase, killAll, type NodeProcess, pgValues, spawnNode} from '../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {raw, type RawReply} from '../helpers/raw-http.js'
import {fuzzSettings, hostileRequest, type HostileRequest} from './arbitraries.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-fuzz-'))
let pg: TestPostgres
let node: NodeProcess
let upstream: Server
const ports = {proxy: 0, admin: 0, status: 0}

const send = (port: number, r: HostileRequest): Promise<RawReply> =>
  raw(port, `${r.method} ${r.target} HTTP/1.1${r.contentType ? `\r\nContent-Type: ${r.contentType}` : ''}`, r.body)

const describeCase = (r: HostileRequest, reply: RawReply) =>
  `${r.method} ${r.target.slice(0, 200)} (${r.contentType ?? 'no content-type'}, ${r.body.length} bytes) → ${reply.status} ${reply.body.slice(0, 300)}`

/** Kong's envelope: a JSON object with a string message (HEAD answers carry no body). */
function assertEnvelope(r: HostileRequest, reply: RawReply): void {
  if (reply.status < 400 || r.method === 'HEAD') return
  let body: unknown
  try {
    body = JSON.parse(reply.body)
  } catch {
    assert.fail(`not JSON: ${describeCase(r, reply)}`)
  }
  assert.equal(typeof (body as {message?: unknown})?.message, 'string', describeCase(r, reply))
}

async function assertSameNode(): Promise<void> {
  assert.equal(node.proc.exitCode, null, `node exited:\n${node.output().slice(-4000)}`)
  const r = await fetch(`http://127.0.0.1:${ports.status}/status`)
  assert.equal(r.status, 200)
}

before(async () => {
  pg = await startTestPostgres()
  const database = await freshDatabase(pg, 'fuzz')
  const up = await startUpstream()
  upstream = up.server
  for (const k of ['proxy', 'admin', 'status'] as const) ports[k] = await findFreePort()
  node = spawnNode(dir, {
    ...pgValues(pg, database),
    proxy_listen: `127.0.0.1:${ports.proxy}`,
    admin_listen: `127.0.0.1:${ports.admin}`,
    status_listen: `127.0.0.1:${ports.status}`,
    log_level: 'warn',
  }, {status: `http://127.0.0.1:${ports.status}`})
  await node.waitReady(30_000)
  const admin = `http://127.0.0.1:${ports.admin}`
  await create(`${admin}/services`, {name: 'fuzzed', url: `http://127.0.0.1:${up.port}`})
  await create(`${admin}/services/fuzzed/routes`, {name: 'everything', 'paths[]': '/'})
})

after(async () => {
  killAll()
  upstream?.close()
  await pg?.stop()
  rmSync(dir, {recursive: true, force: true})
})

describe('fuzzing a running node', () => {
  test('Admin API: no 5xx, Kong\'s envelope, the node stays up', async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest(), async (r) => {
        const reply = await send(ports.admin, r)
        assert.ok(reply.status < 500, describeCase(r, reply))
        assertEnvelope(r, reply)
      }),
      fuzzSettings(2000),
    )
    await assertSameNode()
  })

  test('proxy: no 500 of its own, the node stays up', async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest(), async (r) => {
        const reply = await send(ports.proxy, r)
        // The upstream is up and answers everything: no 5xx at all is expected here.
        assert.ok(reply.status < 500, describeCase(r, reply))
      }),
      fuzzSettings(500),
    )
    await assertSameNode()
  })

  test('status listener: no 5xx, Kong\'s envelope, the node stays up', async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest(), async (r) => {
        const reply = await send(ports.status, r)
        assert.ok(reply.status < 500, describeCase(r, reply))
        assertEnvelope(r, reply)
      }),
      fuzzSettings(300),
    )
    await assertSameNode()
  })
})
