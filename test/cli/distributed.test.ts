/**
 * End to end, distributed mode: two traditional nodes on one embedded Postgres; a write
 * through node-1's Admin API is proxied by node-2 (LISTEN/NOTIFY, no restart).
 */
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import type {Server} from 'node:http'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {create, served, startUpstream} from '../helpers/http.js'
import {createSandbox, type Sandbox} from '../helpers/kctl.js'
import {distributedPorts, distributedSpec, type TraditionalPorts} from '../helpers/specs.js'

describe('kctl init --mode distributed', () => {
  let sb: Sandbox
  let ports: TraditionalPorts[]
  let upstream: {server: Server; port: number}

  before(async () => {
    sb = await createSandbox()
    ports = await distributedPorts(2)
    upstream = await startUpstream()
    await writeFile(join(sb.cwd, 'kctl.yaml'), distributedSpec('dist', ports))
  })
  after(async () => {
    await sb?.cleanup()
    upstream?.server.close()
  })

  it('starts both nodes on one database', async () => {
    const r = await sb.kctl('init')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const nodes = JSON.parse((await sb.kctl('nodes', '--json')).stdout).nodes as {name: string; role: string; state: string}[]
    assert.deepEqual(nodes.map((n) => [n.name, n.role, n.state]), [['postgres', 'database', 'running'], ['node-1', 'traditional', 'running'], ['node-2', 'traditional', 'running']])
  })

  it('a write through node-1 is proxied by node-2', async () => {
    const admin = `http://127.0.0.1:${ports[0].admin}`
    await create(`${admin}/services`, {name: 'd', url: `http://127.0.0.1:${upstream.port}`})
    await create(`${admin}/services/d/routes`, {'paths[]': '/d'})
    assert.equal(JSON.parse(await served(`http://127.0.0.1:${ports[1].proxy}/d/two`)).path, '/two')
    assert.equal(JSON.parse(await served(`http://127.0.0.1:${ports[0].proxy}/d/one`)).path, '/one')
  })
})
