/** `kctl init --proxy-port/--proxy-ssl-port/--admin-port/--status-port` (and KCTL_* variables) through the real CLI. */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse} from 'yaml'
import {createSandbox, runKctl, type Sandbox} from '../helpers/kctl.js'

describe('kctl init with ports', () => {
  let sb: Sandbox
  before(async () => {
    sb = await createSandbox()
  })
  after(async () => {
    await sb?.cleanup()
  })
  const portArgs = () => ['--proxy-port', String(sb.ports.proxy), '--proxy-ssl-port', String(sb.ports.proxySsl), '--admin-port', String(sb.ports.admin), '--status-port', String(sb.ports.status)]

  it('bad or colliding values are usage errors (exit 2) and write nothing', async () => {
    const cases = [
      ['--proxy-port', '0'],
      ['--admin-port', 'abc'],
      ['--status-port', '70000'],
      ['--proxy-port', '9000', '--admin-port', '9000'],
      ['--mode', 'distributed', '--proxy-port', '9000', '--admin-port', '9100'],
      ['--mode', 'distributed', '--nodes', '3', '--proxy-port', '65400'],
    ]
    for (const args of cases) {
      const r = await sb.kctl('init', ...args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`)
      assert.equal(existsSync(join(sb.cwd, 'kctl.yaml')), false, args.join(' '))
    }
    const clash = await sb.kctl('init', '--proxy-port', '9000', '--admin-port', '9000')
    assert.match(clash.stderr, /port 9000 would be both spec\.nodes\[0\]\.proxy_listen and spec\.nodes\[0\]\.admin_listen/)
    const env = await runKctl(['init'], {cwd: sb.cwd, env: {KCTL_DATA_DIR: sb.dataDir, KCTL_ADMIN_PORT: 'x'}})
    assert.equal(env.code, 2, env.stderr)
  })

  it('the environment variables shape a new spec too', async () => {
    const env = {KCTL_DATA_DIR: sb.dataDir, KCTL_PROXY_PORT: '9300', KCTL_ADMIN_PORT: '9301', KCTL_STATUS_PORT: '9307', KCTL_PROXY_SSL_PORT: '9343'}
    const r = await runKctl(['init', '--mode', 'distributed', '--dry-run'], {cwd: sb.cwd, env})
    assert.equal(r.code, 0, r.stderr)
    for (const line of ['port 9300 (proxy_listen of node-1)', 'port 9343 (proxy_listen of node-1)', 'port 9301 (admin_listen of node-1)', 'port 9307 (status_listen of node-1)', 'port 9400 (proxy_listen of node-2)', 'port 9401 (admin_listen of node-2)', 'port 9407 (status_listen of node-2)']) {
      assert.ok(r.stdout.includes(`check ${line} is free`), `${line}\n${r.stdout}`)
    }
  })

  it('brings the cluster up on the given ports; kctl nodes shows them and where the database listens', async () => {
    const r = await sb.kctl('init', ...portArgs())
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const spec = parse(await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8'))
    assert.deepEqual(spec.spec.nodes[0], {
      name: 'node-1',
      role: 'traditional',
      proxy_listen: `0.0.0.0:${sb.ports.proxy}, 0.0.0.0:${sb.ports.proxySsl} ssl`,
      admin_listen: `127.0.0.1:${sb.ports.admin}`,
      status_listen: `127.0.0.1:${sb.ports.status}`,
    })
    assert.match(r.stdout, new RegExp(`Admin API: http://127.0.0.1:${sb.ports.admin}`))
    const res = await fetch(`http://127.0.0.1:${sb.ports.admin}/status`)
    assert.equal(res.status, 200)
    const nodes = await sb.kctl('nodes', '--json')
    const j = JSON.parse(nodes.stdout)
    assert.match(j.nodes[0].listen.postgres, /^127\.0\.0\.1:\d+$/)
    assert.equal(j.nodes[1].listen.admin, `127.0.0.1:${sb.ports.admin}`)
    const again = await sb.kctl('init', '--admin-port', '9999')
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /--admin-port only shape a new spec and is ignored/)
  })
})
