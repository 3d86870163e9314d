/**
 * Hostile requests against a real traditional node (a real process over real Postgres):
 * no request target, method or body may end it, and what is refused is refused with
 * Kong's error envelope, never a 500. Each case here once killed the node or reached
 * Postgres as a 500.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {freshDatabase, killAll, type NodeProcess, pgValues, spawnNode} from '../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {raw} from '../helpers/raw-http.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-hostile-'))
let pg: TestPostgres
let node: NodeProcess
const ports = {proxy: 0, admin: 0, status: 0}

const get = (port: number, target: string) => raw(port, `GET ${target} HTTP/1.1`)
const json = (port: number, method: string, target: string, body: string) =>
  raw(port, `${method} ${target} HTTP/1.1\r\nContent-Type: application/json`, body)

/** The node still serves, on the same process. */
async function assertAlive(): Promise<void> {
  assert.equal(node.proc.exitCode, null, `node exited:\n${node.output()}`)
  const r = await fetch(`http://127.0.0.1:${ports.status}/status`)
  assert.equal(r.status, 200)
}

before(async () => {
  pg = await startTestPostgres()
  const database = await freshDatabase(pg, 'hostile')
  ports.proxy = await findFreePort()
  ports.admin = await findFreePort()
  ports.status = await findFreePort()
  node = spawnNode(dir, {
    ...pgValues(pg, database),
    proxy_listen: `127.0.0.1:${ports.proxy}`,
    admin_listen: `127.0.0.1:${ports.admin}`,
    status_listen: `127.0.0.1:${ports.status}`,
  }, {status: `http://127.0.0.1:${ports.status}`})
  await node.waitReady(30_000)
})

after(async () => {
  if (process.env.SHOW_NODE_OUTPUT) console.log(node?.output())
  killAll()
  await pg?.stop()
  rmSync(dir, {recursive: true, force: true})
})

describe('request targets that once ended the node', () => {
  for (const target of ['//', '///x', '//[', '//a:b@', '//a:b@/services', '//:99999', '//%']) {
    test(`GET ${target} on every listener`, async () => {
      for (const port of [ports.admin, ports.status, ports.proxy]) {
        const r = await get(port, target)
        assert.ok(r.status < 500, `${port} ${target}: ${r.status} ${r.body}`)
        // The proxy's own errors follow error_default_type (text/plain here), as Kong's.
        if (port !== ports.proxy && r.status >= 400) assert.equal(typeof JSON.parse(r.body).message, 'string')
      }
      await assertAlive()
    })
  }

  test('repeated slashes are one, as nginx merge_slashes: //services is /services', async () => {
    const r = await get(ports.admin, '//services')
    assert.equal(r.status, 200)
    assert.deepEqual(JSON.parse(r.body).data, [])
  })

  test('a target that is not a path is a 400', async () => {
    const r = await raw(ports.admin, 'OPTIONS * HTTP/1.1')
    assert.equal(r.status, 400)
    assert.deepEqual(JSON.parse(r.body), {message: 'Bad request'})
  })

  test('invalid percent-encoding is a 400', async () => {
    const r = await get(ports.admin, '/consumers/%E0%A4%A')
    assert.equal(r.status, 400)
    assert.equal(typeof JSON.parse(r.body).message, 'string')
    await assertAlive()
  })
})

describe('NUL bytes are refused, never sent to Postgres', () => {
  test('in a path id: not found', async () => {
    for (const target of ['/consumers/%00', '/consumers/a%00b', '/services/%00/routes', '/consumers/%00/key-auth']) {
      const r = await get(ports.admin, target)
      assert.equal(r.status, 404, `${target}: ${r.body}`)
      assert.deepEqual(JSON.parse(r.body), {message: 'Not found'})
    }
  })

  test('in a query: tags, offset and size are invalid options', async () => {
    const tags = await get(ports.admin, '/consumers?tags=%00')
    assert.equal(tags.status, 400, tags.body)
    assert.deepEqual(JSON.parse(tags.body), {code: 11, name: 'invalid options', message: 'invalid option (tags: invalid filter syntax)', fields: {tags: 'invalid filter syntax'}})
    const offset = await get(ports.admin, '/consumers?offset=%00')
    assert.equal(offset.status, 400, offset.body)
    assert.equal(JSON.parse(offset.body).name, 'invalid offset')
    const size = await get(ports.admin, '/consumers?size=%00')
    assert.equal(size.status, 400, size.body)
  })

  test('in a JSON string field: a schema violation naming the field', async () => {
    const r = await json(ports.admin, 'POST', '/consumers', '{"username":"a\\u0000b"}')
    assert.equal(r.status, 400, r.body)
    const body = JSON.parse(r.body)
    assert.equal(body.code, 2)
    assert.equal(body.name, 'schema violation')
    assert.match(body.fields.username, /null byte/)
  })

  test('in tags, as in any string; other characters no tag may have get Kong\'s tag message', async () => {
    const r = await json(ports.admin, 'POST', '/consumers', '{"username":"t","tags":["ok","a\\u0000"]}')
    assert.equal(r.status, 400, r.body)
    assert.deepEqual(JSON.parse(r.body).fields.tags, [null, 'invalid value: must not contain a null byte (\\u0000)'])
    const comma = await json(ports.admin, 'POST', '/consumers', '{"username":"t","tags":["a,b"]}')
    assert.equal(comma.status, 400, comma.body)
    assert.deepEqual(JSON.parse(comma.body).fields.tags, ["invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"])
  })

  test('in a plugin config string and in a form body', async () => {
    const p = await json(ports.admin, 'POST', '/plugins', '{"name":"request-termination","config":{"message":"x\\u0000y"}}')
    assert.equal(p.status, 400, p.body)
    assert.equal(JSON.parse(p.body).code, 2)
    const f = await raw(ports.admin, 'POST /consumers HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded', 'username=a%00b')
    assert.equal(f.status, 400, f.body)
    await assertAlive()
  })
})

describe('methods', () => {
  for (const method of ['PROPFIND', 'TRACE', 'MKCOL', 'LOCK', 'PURGE']) {
    test(`${method} is a 405 on the Admin API and the status listener`, async () => {
      for (const [port, target] of [[ports.admin, '/'], [ports.admin, '/services'], [ports.status, '/status']] as const) {
        const r = await raw(port, `${method} ${target} HTTP/1.1`)
        assert.equal(r.status, 405, `${method} ${target}: ${r.body}`)
        assert.deepEqual(JSON.parse(r.body), {message: 'Method not allowed'})
      }
    })
  }
})
