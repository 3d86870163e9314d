/** `spec.hosts`, `spec.ssh`, `nodes[].host`, `database.host`: each problem named by its key; ports per host. */
import assert from 'node:assert/strict'
import {mkdtemp, mkdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {assignListeners, layoutNodes} from '../../src/cluster/layout.js'
import {loadSpec, validateSpec, type ClusterSpec} from '../../src/cluster/spec.js'
import {resolveHost} from '../../src/cluster/spec-hosts.js'

const spec = (nodes: unknown[], extra: Record<string, unknown> = {}, database: Record<string, unknown> = {embedded: true}) => ({apiVersion: 'kctl/v1', kind: 'Cluster', metadata: {name: 'edge'}, spec: {mode: 'hybrid', database, nodes, ...extra}})
const problems = (doc: unknown): string => {
  try {
    validateSpec(doc)
    return ''
  } catch (err) {
    return (err as Error).message
  }
}
const hosts = [{name: 'edge-1', ssh: {address: '10.0.0.12', user: 'ubuntu', port: 22}}, {name: 'edge-2', ssh: {host: 'edge-2'}}]
const cp = {name: 'cp-1', role: 'control_plane'}
const dp = (i: number, host?: string) => ({name: `dp-${i}`, role: 'data_plane', ...(host ? {host} : {})})

describe('spec hosts', () => {
  it('relative identityFile, configFile and knownHostsFile are the spec file’s folder’s, wherever kctl runs from', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kctl-spec-hosts-'))
    try {
      await mkdir(join(dir, 'project'))
      const file = join(dir, 'project', 'kctl.yaml')
      await writeFile(
        file,
        `apiVersion: kctl/v1
kind: Cluster
metadata: {name: edge}
spec:
  mode: hybrid
  ssh: {user: root, identityFile: keys/id_ed25519, knownHostsFile: ./lab/known_hosts}
  hosts:
    - {name: edge-1, ssh: {address: 10.0.0.12, configFile: ../shared/ssh_config}}
    - {name: edge-2, ssh: {address: 10.0.0.13, identityFile: ~/.ssh/id_rsa, knownHostsFile: /etc/ssh/ssh_known_hosts, configFile: /dev/null}}
  database: {embedded: true, host: edge-1}
  nodes:
    - {name: cp-1, role: control_plane, host: edge-1}
    - {name: dp-1, role: data_plane, host: edge-2}
`,
      )
      const loaded = await loadSpec(file)
      assert.deepEqual(resolveHost(loaded, 'edge-1')!.ssh, {user: 'root', identityFile: join(dir, 'project', 'keys', 'id_ed25519'), knownHostsFile: join(dir, 'project', 'lab', 'known_hosts'), address: '10.0.0.12', configFile: join(dir, 'shared', 'ssh_config')})
      assert.deepEqual(resolveHost(loaded, 'edge-2')!.ssh, {user: 'root', identityFile: '~/.ssh/id_rsa', knownHostsFile: '/etc/ssh/ssh_known_hosts', address: '10.0.0.13', configFile: '/dev/null'})
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('accepts hosts, common ssh values, nodes and the database placed on them', () => {
    const doc = spec([cp, dp(1, 'edge-1'), dp(2, 'edge-2'), {...dp(3, 'local'), proxy_listen: '0.0.0.0:8100', status_listen: '127.0.0.1:8107'}], {hosts, ssh: {identityFile: '~/.ssh/id_ed25519', knownHostsFile: './known_hosts'}}, {embedded: true, host: 'edge-1'})
    assert.equal(problems(doc), '')
  })

  it('a node naming an unknown host names the key and the hosts there are', () => {
    const msg = problems(spec([cp, dp(1, 'edge-1'), dp(2, 'edge-3')], {hosts: [hosts[0]]}))
    assert.match(msg, /spec\.nodes\[2\]\.host: no host named edge-3 \(did you mean edge-1\?\)/)
    assert.match(problems(spec([cp, dp(1, 'far-away')], {hosts})), /spec\.nodes\[1\]\.host: no host named far-away \(spec\.hosts has edge-1, edge-2\)/)
    assert.match(problems(spec([cp, dp(1, 'edge-1')])), /spec\.nodes\[1\]\.host: no host named edge-1; declare it under spec\.hosts/)
    assert.match(problems(spec([cp, {...dp(1), host: 3}], {hosts})), /spec\.nodes\[1\]\.host: must be the name of a host in spec\.hosts/)
  })

  it('the database: an embedded one on a known host; one given by url on none', () => {
    assert.match(problems(spec([cp, dp(1)], {hosts}, {embedded: true, host: 'db-9'})), /spec\.database\.host: no host named db-9/)
    assert.match(problems(spec([cp, dp(1)], {hosts}, {url: 'postgres://kong@db/kong', host: 'edge-1'})), /spec\.database\.host: only an embedded database runs on a host of the spec/)
  })

  it('host entries: name rules, duplicates, the reserved local, address or host alias', () => {
    const msg = problems(spec([cp, dp(1)], {
      hosts: [
        {name: 'edge-1', ssh: {address: '10.0.0.12'}},
        {name: 'edge-1', ssh: {address: '10.0.0.13'}},
        {name: 'local', ssh: {address: '10.0.0.14'}},
        {name: 'Edge_2', ssh: {address: '10.0.0.15'}},
        {name: 'edge-3', ssh: {user: 'ubuntu'}},
        {name: 'edge-4', ssh: {address: '10.0.0.16', host: 'edge-4'}},
        {name: 'edge-5'},
        'edge-6',
      ],
    }))
    assert.match(msg, /spec\.hosts\[1\]\.name: duplicate host name "edge-1"/)
    assert.match(msg, /spec\.hosts\[2\]\.name: "local" is reserved for this machine/)
    assert.match(msg, /spec\.hosts\[3\]\.name: required: lowercase letters, digits and dashes/)
    assert.match(msg, /spec\.hosts\[4\]\.ssh: set address \(an IP or DNS name\) or host \(an alias from your ssh config\)/)
    assert.match(msg, /spec\.hosts\[5\]\.ssh: set address or host, not both/)
    assert.match(msg, /spec\.hosts\[6\]\.ssh: required: a mapping with address/)
    assert.match(msg, /spec\.hosts\[7\]: must be a mapping/)
    assert.doesNotMatch(msg, /spec\.hosts\[0\]/)
    assert.match(problems(spec([cp, dp(1)], {hosts: {name: 'edge-1'}})), /spec\.hosts: must be a list of hosts/)
  })

  it('ssh values: types, port range, unknown keys with a suggestion; spec.ssh takes no address', () => {
    const msg = problems(spec([cp, dp(1)], {hosts: [{name: 'edge-1', ssh: {adress: '10.0.0.12', host: 'edge-1', port: 70000, user: ''}}], ssh: {address: '10.0.0.1', identityFile: 7}}))
    assert.match(msg, /spec\.hosts\[0\]\.ssh\.adress: unknown key \(did you mean address\?\)/)
    assert.match(msg, /spec\.hosts\[0\]\.ssh\.port: must be a port number \(1-65535\)/)
    assert.match(msg, /spec\.hosts\[0\]\.ssh\.user: must be a non-empty string/)
    assert.match(msg, /spec\.ssh\.address: unknown key; allowed: user, port, identityFile, configFile, knownHostsFile/)
    assert.match(msg, /spec\.ssh\.identityFile: must be a non-empty string/)
  })

  it('paths: absolute, known keys only', () => {
    const msg = problems(spec([cp, dp(1)], {hosts: [{name: 'edge-1', ssh: {address: '10.0.0.12'}, paths: {install: 'opt/kctl', data: '/', logs: '/var/log'}}]}))
    assert.match(msg, /spec\.hosts\[0\]\.paths\.install: must be an absolute path/)
    assert.match(msg, /spec\.hosts\[0\]\.paths\.data: must be an absolute path/)
    assert.match(msg, /spec\.hosts\[0\]\.paths\.logs: unknown key/)
  })

  it('resolves a host: spec.ssh under its own values, default paths per cluster', () => {
    const doc = validateSpec(spec([cp, dp(1, 'edge-1')], {hosts: [{name: 'edge-1', ssh: {address: '10.0.0.12', user: 'root'}, paths: {data: '/srv/kctl'}}], ssh: {user: 'ubuntu', identityFile: '~/.ssh/id'}})) as ClusterSpec
    assert.deepEqual(resolveHost(doc, 'edge-1'), {name: 'edge-1', ssh: {address: '10.0.0.12', user: 'root', identityFile: '~/.ssh/id'}, paths: {install: '/opt/kctl', config: '/etc/kctl/edge', data: '/srv/kctl'}})
    assert.equal(resolveHost(doc, undefined), undefined)
    assert.equal(resolveHost(doc, 'local'), undefined)
  })
})

describe('ports across hosts', () => {
  it('nodes on different hosts may use the same port; on one host they may not', () => {
    const on = (host: string | undefined, i: number) => ({...dp(i, host), proxy_listen: '0.0.0.0:8000', status_listen: '127.0.0.1:8107'})
    assert.equal(problems(spec([cp, on('edge-1', 1), on('edge-2', 2), on(undefined, 3)], {hosts})), '')
    assert.match(problems(spec([cp, on('edge-1', 1), on('edge-1', 2)], {hosts})), /spec\.nodes\[2\]\.proxy_listen: port 8000 is also used by spec\.nodes\[1\]\.proxy_listen on host edge-1/)
    assert.match(problems(spec([cp, on(undefined, 1), on('local', 2)], {hosts})), /spec\.nodes\[2\]\.proxy_listen: port 8000 is also used by spec\.nodes\[1\]\.proxy_listen; give one of them another port$/m)
  })

  it("a listener left out is Kong's default: two nodes of one host that both leave it out clash before anything starts", () => {
    const bare = (i: number, host?: string) => ({name: `dp-${i}`, role: 'data_plane', ...(host ? {host} : {})})
    const msg = problems(spec([cp, bare(1, 'edge-1'), bare(2, 'edge-1')], {hosts}))
    assert.match(msg, /spec\.nodes\[2\]\.proxy_listen \(not set: Kong's default 8000\): port 8000 is also used by spec\.nodes\[1\]\.proxy_listen \(not set: Kong's default 8000\) on host edge-1; give one of them another port/)
    assert.match(msg, /spec\.nodes\[2\]\.status_listen \(not set: Kong's default 8007\): port 8007 is also used by spec\.nodes\[1\]\.status_listen/)
    // one on each host: each keeps Kong's defaults
    assert.equal(problems(spec([cp, bare(1, 'edge-1'), bare(2, 'edge-2')], {hosts})), '')
    // a default clashing with an explicit port of another node on the host
    assert.match(problems(spec([cp, {...bare(1, 'edge-1'), proxy_listen: '0.0.0.0:8007'}, bare(2, 'edge-1')], {hosts})), /spec\.nodes\[2\]\.status_listen \(not set: Kong's default 8007\): port 8007 is also used by spec\.nodes\[1\]\.proxy_listen on host edge-1/)
  })

  it('the +100 shift applies only among nodes sharing a host', () => {
    const nodes = layoutNodes({mode: 'hybrid', dataPlanes: 4, placement: {'dp-1': 'edge-1', 'dp-2': 'edge-2', 'dp-3': 'edge-1'}})
    const ports = Object.fromEntries(nodes.map((n) => [n.name, [n.host ?? 'local', n.proxy_listen ?? n.admin_listen, n.status_listen]]))
    assert.deepEqual(ports, {
      'cp-1': ['local', '127.0.0.1:8001', '127.0.0.1:8007'],
      'dp-1': ['edge-1', '0.0.0.0:8000, 0.0.0.0:8443 ssl', '127.0.0.1:8007'],
      'dp-2': ['edge-2', '0.0.0.0:8000, 0.0.0.0:8443 ssl', '127.0.0.1:8007'],
      'dp-3': ['edge-1', '0.0.0.0:8100, 0.0.0.0:8543 ssl', '127.0.0.1:8107'],
      'dp-4': ['local', '0.0.0.0:8000, 0.0.0.0:8443 ssl', '127.0.0.1:8107'],
    })
    assert.deepEqual(layoutNodes({mode: 'hybrid', dataPlanes: 2}), assignListeners([{name: 'cp-1', role: 'control_plane'}, {name: 'dp-1', role: 'data_plane'}, {name: 'dp-2', role: 'data_plane'}]), 'without placement: one machine, as before')
    assert.equal(layoutNodes({mode: 'hybrid', dataPlanes: 2})[2].proxy_listen, '0.0.0.0:8100, 0.0.0.0:8543 ssl')
  })
})
