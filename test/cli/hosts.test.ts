/**
 * `kctl hosts` through the real CLI, and a spec that puts nodes on other machines that do not
 * answer (a closed port of this machine): listed with what runs where and why they are not
 * reachable; `init` stops before changing anything (no state, no process).
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {processesMentioning, scratchCli} from '../helpers/kctl.js'

const scratch = scratchCli('kctl-hosts-')
const kctl = scratch.kctl

let SPEC = `apiVersion: kctl/v1
kind: Cluster
metadata:
  name: edge
spec:
  mode: hybrid
  ssh: {user: ubuntu, configFile: SSH_CONFIG}
  hosts:
    - {name: edge-1, ssh: {address: 127.0.0.1, port: CLOSED}}
    - {name: edge-2, ssh: {host: edge-2-alias}}
  database: {embedded: true}
  nodes:
    - {name: cp-1, role: control_plane}
    - {name: dp-1, role: data_plane, host: edge-1}
    - {name: dp-2, role: data_plane, host: edge-2}
    - {name: dp-3, role: data_plane, host: edge-1, proxy_listen: '0.0.0.0:8100', status_listen: '127.0.0.1:8107'}
`

let sshDir = ''
before(async () => {
  // nothing listens there: ssh is refused at once, and no traffic leaves this machine
  const closed = await findFreePort('127.0.0.1')
  sshDir = await mkdtemp(join(tmpdir(), 'kctl-hosts-ssh-'))
  const config = join(sshDir, 'ssh_config')
  await writeFile(config, `Host edge-2-alias\n  HostName 127.0.0.1\n  Port ${closed}\n`)
  SPEC = SPEC.replace('SSH_CONFIG', config).replace('CLOSED', String(closed))
})
after(() => rm(sshDir, {recursive: true, force: true}))

describe('kctl hosts', () => {
  it('without a spec: this machine, with its facts', async () => {
    const r = await kctl(['hosts', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const j = JSON.parse(r.stdout)
    assert.equal(j.cluster, null)
    assert.deepEqual(j.hosts, [{name: 'local', address: '127.0.0.1', local: true, reachable: true, error: null, os: process.platform, arch: process.arch, node_version: process.version, hostname: j.hosts[0].hostname, systemd: j.hosts[0].systemd, nodes: [], installed: null}])
    assert.ok(j.hosts[0].hostname)
  })

  it('with a spec: every host with what runs there; a host that does not answer says why', async () => {
    await writeFile(join(scratch.dir, 'kctl.yaml'), SPEC)
    const r = await kctl(['hosts', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const j = JSON.parse(r.stdout)
    assert.equal(j.cluster, 'edge')
    assert.deepEqual(j.hosts.map((h: Record<string, unknown>) => [h.name, h.address, h.local, h.reachable, h.nodes]), [
      ['local', '127.0.0.1', true, true, ['postgres', 'cp-1']],
      ['edge-1', '127.0.0.1', false, false, ['dp-1', 'dp-3']],
      ['edge-2', 'edge-2-alias', false, false, ['dp-2']],
    ])
    assert.match(j.hosts[1].error, /host edge-1 .*(SSH|ssh)/)
    const text = await kctl(['hosts'])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^edge-1 +127\.0\.0\.1 +no +- +- +- +dp-1, dp-3$/m)
    assert.match(text.stdout, /^local +127\.0\.0\.1 +yes +\S+\/\S+ +v\d+/m)
  })

  it('init of a spec with nodes on hosts that do not answer fails naming the host, and changes nothing', async () => {
    await writeFile(join(scratch.dir, 'kctl.yaml'), SPEC)
    const plan = await kctl(['init', '--dry-run', '--json'])
    assert.equal(plan.code, 0, plan.stdout)
    assert.ok(JSON.parse(plan.stdout).plan.some((p: {actions: string[]}) => p.actions.some((a) => /^install kctl on edge-1 \(\/opt\/kctl\)/.test(a))), plan.stdout)
    const r = await kctl(['init', '--json'])
    assert.equal(r.code, 1, r.stdout)
    const err = JSON.parse(r.stdout).error
    // Preflight refuses before anything changes, naming each host and what it found.
    assert.equal(err.code, 'PREFLIGHT_FAILED')
    assert.match(err.message, /edge-1/)
    assert.match(err.message, /edge-2/)
    assert.deepEqual(err.details.failed.map((f: {code?: string}) => f.code).filter(Boolean).sort(), ['HOST_UNREACHABLE', 'HOST_UNREACHABLE'], JSON.stringify(err.details))
    assert.equal(existsSync(join(scratch.dir, 'data', 'clusters')), false, 'no state, no database')
    assert.equal(await readFile(join(scratch.dir, 'kctl.yaml'), 'utf8'), SPEC, 'the spec is untouched')
    assert.deepEqual(await processesMentioning(scratch.dir), [], 'nothing started')
  })

  it('a spec naming an unknown host is refused with its key', async () => {
    await writeFile(join(scratch.dir, 'kctl.yaml'), SPEC.replace('host: edge-2}', 'host: edge-3}'))
    const r = await kctl(['hosts'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /spec\.nodes\[2\]\.host: no host named edge-3 \(did you mean edge-1\?\)/)
  })
})
