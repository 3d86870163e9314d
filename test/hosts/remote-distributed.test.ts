// A distributed cluster on the SSH test bed: the embedded database on h1, a traditional node
// on each of h2 and h3, all installed by kctl from an empty bed.
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createSandbox, type Sandbox} from '../helpers/kctl.js'
import {until} from '../helpers/until.js'
import {tryGet} from '../helpers/http.js'
import {bedSpec, kctlTraces, testbedUnavailable, up, type Testbed} from '../helpers/testbed.js'

describe('a distributed cluster on two hosts plus a database host', {skip: testbedUnavailable(), timeout: 900_000}, () => {
  let bed: Testbed
  let sb: Sandbox
  const addr = (n: number): string => bed.hosts[n - 1].address

  before(async () => {
    bed = await up(3)
    sb = await createSandbox()
    // node-1's Admin API on its host's address, so this test can reach it directly
    await writeFile(
      join(sb.cwd, 'kctl.yaml'),
      bedSpec(bed, {
        name: 'shop',
        mode: 'distributed',
        names: ['db', 'n1', 'n2'],
        body: `  database: {embedded: true, host: db}
  nodes:
    - {name: node-1, role: traditional, host: n1, admin_listen: '0.0.0.0:8001'}
    - {name: node-2, role: traditional, host: n2}
`,
      }),
    )
  })
  after(async () => {
    await sb?.cleanup()
    await bed?.down()
  })

  it('a change through node-1’s Admin API is served by node-2 on the other host', async () => {
    const r = await sb.kctl('init', '--json')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(Object.keys(JSON.parse(r.stdout).uploaded).sort(), ['db', 'n1', 'n2'])
    // Postgres listens on the database host's address, for the cluster's hosts only
    const hba = await bed.exec('h1', 'cat /var/lib/kctl/shop/postgres/data/pg_hba.conf; ls -ld /var/lib/kctl/shop/postgres/data')
    for (const n of [1, 2, 3]) assert.match(hba.stdout, new RegExp(`^host +all +all +${addr(n).replace(/\./g, '\\.')}/32 +scram-sha-256$`, 'm'))
    assert.doesNotMatch(hba.stdout, /trust|0\.0\.0\.0\/0/)
    assert.match(hba.stdout, /^drwx------ \d+ kctl-shop /m)
    const admin = `http://${addr(2)}:8001`
    const svc = await fetch(`${admin}/services`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: 'hello', url: 'http://127.0.0.1:9'})})
    assert.equal(svc.status, 201, await svc.text())
    const route = await fetch(`${admin}/services/hello/routes`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: 'hello', paths: ['/hello']})})
    assert.equal(route.status, 201, await route.text())
    const plugin = await fetch(`${admin}/services/hello/plugins`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: 'request-termination', config: {status_code: 200, message: 'from node-1'}})})
    assert.equal(plugin.status, 201, await plugin.text())
    await until('node-2 to serve the route', async () => (await tryGet(`http://${addr(3)}:8000/hello`))?.status === 200, {timeoutMs: 60_000})
    assert.match((await tryGet(`http://${addr(3)}:8000/hello`))!.body, /from node-1/)
    const d = await sb.kctl('destroy', '--yes')
    assert.equal(d.code, 0, d.stderr)
    for (const h of ['h1', 'h2', 'h3']) {
      const left = await bed.exec(h, 'ls -d /opt/kctl /etc/kctl /var/lib/kctl 2>/dev/null; grep "^kctl-shop" /etc/passwd; ps -eo args= | grep -e postgres -e main.js | grep -v grep; true')
      assert.equal(left.stdout.trim(), '', `nothing left on ${h}`)
    }
  })
})
