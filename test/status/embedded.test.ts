/** `kctl status` on an embedded cluster made by `kctl init`: config version, readiness, the database. */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import {type Sandbox} from '../helpers/kctl.js'
import {startCluster} from '../helpers/nodes.js'

let sb: Sandbox

before(async () => {
  sb = (await startCluster({name: 'stemb'})).sandbox
})
after(async () => {
  await sb?.cleanup()
})

test('embedded: the node with its config version and readiness, the database reached; stopped → exit 1', async () => {
  const r = await sb.kctl('status', '--json')
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const s = JSON.parse(r.stdout)
  assert.equal(s.mode, 'embedded')
  assert.equal(s.healthy, true)
  assert.deepEqual(s.database.reachable, {'node-1': true})
  assert.equal(s.database.kind, 'embedded')
  assert.equal(s.database.state, 'running')
  assert.equal(s.control_plane, null)
  assert.deepEqual(s.data_planes, [])
  const n = s.nodes[0]
  assert.equal(n.name, 'node-1')
  assert.equal(n.ready, true)
  assert.match(n.config_version, /^\S+$/)
  const plain = await sb.kctl('status')
  assert.match(plain.stdout, /^node-1 +traditional +localhost +\d+ +running +\S+ +0 +v\S+ /m)
  assert.doesNotMatch(plain.stdout, /DATA PLANES/)

  assert.equal((await sb.kctl('stop', 'node-1')).code, 0)
  const down = await sb.kctl('status', '--json')
  assert.equal(down.code, 1)
  assert.deepEqual(JSON.parse(down.stdout).problems, ['node-1 is stopped'])
})
