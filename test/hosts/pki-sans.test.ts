// pki mode: a node on another host gets a certificate that also names that host's address,
// so a peer dialling the address (a data plane to its control plane) can check it.
import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {nodeCertPaths} from '../../src/cluster/certificates.js'
import {closeHosts} from '../../src/cluster/hosts/index.js'
import {certificatesPhase} from '../../src/cluster/phases-hybrid.js'
import type {UpContext} from '../../src/cluster/phases.js'
import {defaultHostPaths} from '../../src/cluster/spec-hosts.js'
import type {ClusterState} from '../../src/cluster/state.js'
import {silentReporter} from '../../src/kit/output.js'

describe('pki certificates of nodes on other hosts', () => {
  const dirs: string[] = []
  after(async () => {
    await closeHosts()
    for (const d of dirs) await rm(d, {recursive: true, force: true})
  })

  it('name the host’s address next to the node’s name and loopback; a node on this machine gets no other address', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kctl-pki-sans-'))
    dirs.push(dir)
    const node = (name: string, role: string, host?: string) => ({name, role, ...(host ? {host} : {}), intent: 'running', listen: role === 'control_plane' ? {cluster: '0.0.0.0:8005'} : {proxy: '0.0.0.0:8000'}, prefix: join(dir, name), confPath: join(dir, name, 'kong.conf'), logFile: join(dir, name, 'error.log')})
    const certs = {mtls: 'pki' as const, days: 30, cert: join(dir, 'certs', 'ca.crt'), key: join(dir, 'certs', 'ca.key'), generated: true}
    const state = {
      version: 1,
      name: 'edge',
      mode: 'hybrid',
      specPath: join(dir, 'kctl.yaml'),
      createdAt: new Date().toISOString(),
      connection: {host: '10.0.0.11', port: 5432, user: 'kong', password: 'x', database: 'kong'},
      certificates: certs,
      hosts: {h1: {name: 'h1', ssh: {address: '10.0.0.11', user: 'root'}, paths: defaultHostPaths('edge')}, h2: {name: 'h2', ssh: {address: '10.0.0.12', user: 'root'}, paths: defaultHostPaths('edge')}},
      nodes: {'cp-1': node('cp-1', 'control_plane', 'h1'), 'dp-1': node('dp-1', 'data_plane', 'h2'), 'dp-2': node('dp-2', 'data_plane')},
    } as unknown as ClusterState
    const ctx = {state, spec: {}, specPath: state.specPath, stateDir: dir, nodes: Object.keys(state.nodes), report: silentReporter, started: {nodes: []}} as unknown as UpContext
    await certificatesPhase.run(ctx)
    const sans = async (name: string) => new X509Certificate(await readFile(nodeCertPaths(certs, name).cert)).subjectAltName
    assert.equal(await sans('cp-1'), 'DNS:cp-1, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.11')
    assert.equal(await sans('dp-1'), 'DNS:dp-1, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.12')
    assert.equal(await sans('dp-2'), 'DNS:dp-2, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1')
  })
})
