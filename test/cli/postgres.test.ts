import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {existsSync, readFileSync} from 'node:fs'
import pg from 'pg'
import {isAlive} from '../../src/kit/process.js'
import {readPostmasterPid} from '../../src/cluster/postgres.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'

describe('embedded Postgres', () => {
  let db: TestPostgres

  before(async () => {
    db = await startTestPostgres()
  })
  after(async () => {
    await db?.stop()
  })

  it('accepts password connections on 127.0.0.1 to the created database', async () => {
    const client = new pg.Client({connectionString: db.url})
    await client.connect()
    try {
      const r = await client.query<{db: string; enc: string; v: string}>(
        "SELECT current_database() AS db, pg_encoding_to_char(encoding) AS enc, current_setting('server_version_num') AS v FROM pg_database WHERE datname = current_database()",
      )
      assert.equal(r.rows[0].db, db.database)
      assert.equal(r.rows[0].enc, 'UTF8')
      assert.ok(Number(r.rows[0].v) >= 170000)
    } finally {
      await client.end()
    }
  })

  it('rejects a wrong password', async () => {
    const client = new pg.Client({host: db.host, port: db.port, user: db.user, password: 'wrong', database: db.database})
    await assert.rejects(client.connect(), /password authentication failed/)
    await client.end().catch(() => {})
  })

  it('runs as a non-root user', async () => {
    const client = new pg.Client({connectionString: db.url})
    await client.connect()
    try {
      const r = await client.query<{dir: string}>("SELECT current_setting('data_directory') AS dir")
      const pid = await readPostmasterPid(r.rows[0].dir)
      assert.ok(pid && isAlive(pid))
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
      // Postgres refuses root; as root we must have switched to the system user.
      if (process.getuid?.() === 0) assert.notEqual(uid, 0)
      else assert.equal(uid, process.getuid?.())
    } finally {
      await client.end()
    }
  })

  it('stop() leaves no process and no files', async () => {
    const probe = new pg.Client({connectionString: db.url})
    await probe.connect()
    const r = await probe.query<{dir: string}>("SELECT current_setting('data_directory') AS dir")
    await probe.end()
    const pid = await readPostmasterPid(r.rows[0].dir)
    await db.stop()
    assert.equal(isAlive(pid), false)
    assert.equal(existsSync(r.rows[0].dir), false)
  })
})
