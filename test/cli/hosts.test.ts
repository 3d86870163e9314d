/**
 * `kctl hosts` through the real CLI, and a spec that puts nodes on other machines: listed
 * with what runs where; `init` refuses it before changing anything (no state, no process).
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {processesMentioning, scratchCli} from '../helpers/kctl.js'

const scratch = scratchCli('kctl-hosts-')
const kctl = scratch.kctl

const SPEC = `apiVersion: kctl/v1
kind: Cluster
metadata:
  name: edge
spec:
  mode: hybrid
  ssh: {user: ubuntu}
  hosts:
    - {name: edge-1, ssh: {address: 10.0.0.12, port: 2222}}
    - {name: edge-2, ssh: {host: edge-2-alias}}
  database: {embedded: true}
  nodes:
    - {name: cp-1, role: control_plane}
    - {name: dp-1, role: data_plane, host: edge-1}
    - {name: dp-2, role: data_plane, host: edge-2}
    - {name: dp-3, role: data_plane, host: edge-1, proxy_listen: '0.0.0.0:8100', status_listen: '127.0.0.1:8107'}
`

describe('kctl hosts', () => {
  it('without a spec: this machine, with its facts', async () => {
    const r = await kctl(['hosts', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const j = JSON.parse(r.stdout)
    assert.equal(j.cluster, null)
    assert.deepEqual(j.hosts, [{name: 'local', address: '127.0.0.1', local: true, reachable: true, error: null, os: process.platform, arch: process.arch, node_version: process.version, hostname: j.hosts[0].hostname, systemd: j.hosts[0].systemd, nodes: [], installed: null}])
    assert.ok(j.hosts[0].hostname)
  })

  it('with a spec: every host with what runs there; other machines not checked yet', async () => {
    await writeFile(join(scratch.dir, 'kctl.yaml'), SPEC)
    const r = await kctl(['hosts', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const j = JSON.parse(r.stdout)
    assert.equal(j.cluster, 'edge')
    assert.deepEqual(j.hosts.map((h: Record<string, unknown>) => [h.name, h.address, h.local, h.reachable, h.nodes]), [
      ['local', '127.0.0.1', true, true, ['postgres', 'cp-1']],
      ['edge-1', '10.0.0.12', false, null, ['dp-1', 'dp-3']],
      ['edge-2', 'edge-2-alias', false, null, ['dp-2']],
    ])
    assert.match(j.hosts[1].error, /^not checked/)
    const text = await kctl(['hosts'])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^edge-1 +10\.0\.0\.12 +not checked +- +- +dp-1, dp-3$/m)
    assert.match(text.stdout, /^local +127\.0\.0\.1 +yes +\S+\/\S+ +v\d+/m)
  })

  it('init of a spec with nodes on other machines fails naming the node and host, and changes nothing', async () => {
    await writeFile(join(scratch.dir, 'kctl.yaml'), SPEC)
    for (const args of [['init', '--json'], ['init', '--dry-run', '--json']]) {
      const r = await kctl(args)
      assert.equal(r.code, 1, r.stdout)
      const err = JSON.parse(r.stdout).error
      assert.equal(err.code, 'HOST_UNAVAILABLE')
      assert.match(err.message, /^Node dp-1 runs on host edge-1 \(spec\.nodes\[1\]\.host\), and this version of kctl cannot yet launch or operate nodes on other machines\. Nothing was changed\.$/)
      assert.match(err.hint, /^Remove spec\.nodes\[1\]\.host to run it on this machine; `kctl hosts` lists/)
    }
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
