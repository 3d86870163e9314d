/** Spec rules (modes vs roles, listeners per role, certificates, port clashes) and the generated layouts. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parse} from 'yaml'
import {layoutNodes, nodesYaml} from '../../src/cluster/layout.js'
import {validateSpec, type NodeSpec} from '../../src/cluster/spec.js'

const spec = (mode: string, nodes: unknown[], extra: Record<string, unknown> = {}) => ({apiVersion: 'kctl/v1', kind: 'Cluster', metadata: {name: 't'}, spec: {mode, database: {embedded: true}, nodes, ...extra}})
const problems = (doc: unknown): string => {
  try {
    validateSpec(doc)
    return ''
  } catch (err) {
    return (err as Error).message
  }
}
const cp = {name: 'cp-1', role: 'control_plane'}
const dp = (i: number) => ({name: `dp-${i}`, role: 'data_plane', proxy_listen: `127.0.0.1:${9000 + i}`, status_listen: `127.0.0.1:${9100 + i}`})

describe('spec validation', () => {
  it('embedded runs exactly one traditional node', () => {
    assert.match(problems(spec('embedded', [{name: 'a', role: 'traditional'}, {name: 'b', role: 'traditional', proxy_listen: '0.0.0.0:8100', admin_listen: '127.0.0.1:8101', status_listen: '127.0.0.1:8107'}])), /spec\.nodes: mode embedded runs exactly one traditional node \(found 2\)/)
    assert.match(problems(spec('embedded', [cp])), /spec\.nodes\[0\]\.role: mode embedded allows only traditional nodes, not control_plane/)
  })

  it('distributed takes traditional nodes only', () => {
    assert.equal(problems(spec('distributed', [{name: 'a', role: 'traditional'}])), '')
    assert.match(problems(spec('distributed', [{name: 'a', role: 'traditional'}, dp(1)])), /spec\.nodes\[1\]\.role: mode distributed allows only traditional nodes, not data_plane/)
  })

  it('hybrid needs a control plane and a data plane, and nothing traditional', () => {
    assert.equal(problems(spec('hybrid', [cp, dp(1), dp(2)])), '')
    assert.match(problems(spec('hybrid', [dp(1)])), /spec\.nodes: mode hybrid needs at least one node with role control_plane/)
    assert.match(problems(spec('hybrid', [cp])), /spec\.nodes: mode hybrid needs at least one node with role data_plane/)
    assert.match(problems(spec('hybrid', [cp, dp(1), {name: 'n', role: 'traditional', proxy_listen: '0.0.0.0:9999'}])), /spec\.nodes\[2\]\.role: mode hybrid allows only control_plane and data_plane nodes/)
  })

  it('a listener the role does not have names its key', () => {
    assert.match(problems(spec('hybrid', [{...cp, proxy_listen: '0.0.0.0:8000'}, dp(1)])), /spec\.nodes\[0\]\.proxy_listen: a control_plane node has no proxy listener/)
    assert.match(problems(spec('hybrid', [cp, {...dp(1), admin_listen: '127.0.0.1:8001'}])), /spec\.nodes\[1\]\.admin_listen: a data_plane node has no admin listener/)
  })

  it('two nodes on one port are refused', () => {
    assert.match(problems(spec('hybrid', [cp, dp(1), {...dp(2), proxy_listen: '127.0.0.1:9001'}])), /spec\.nodes\[2\]\.proxy_listen: port 9001 is also used by spec\.nodes\[1\]\.proxy_listen/)
  })

  it('certificates: hybrid only, known mtls, cert and key together, not with pki', () => {
    assert.match(problems(spec('embedded', [{name: 'a', role: 'traditional'}], {certificates: {mtls: 'shared'}})), /spec\.certificates: only mode hybrid uses certificates/)
    assert.match(problems(spec('hybrid', [cp, dp(1)], {certificates: {mtls: 'tls'}})), /spec\.certificates\.mtls: must be one of shared, pki/)
    assert.match(problems(spec('hybrid', [cp, dp(1)], {certificates: {cert: 'a.crt'}})), /spec\.certificates\.key: cert and key go together/)
    assert.match(problems(spec('hybrid', [cp, dp(1)], {certificates: {mtls: 'pki', cert: 'a.crt', key: 'a.key'}})), /spec\.certificates\.cert: a given certificate is for mtls shared/)
  })
})

describe('generated layouts', () => {
  const ports = (nodes: NodeSpec[]) => nodes.map((n) => [n.name, n.proxy_listen, n.admin_listen, n.cluster_listen, n.status_listen])

  it('hybrid: Kong defaults plus 100 per earlier node with the same listener', () => {
    assert.deepEqual(ports(layoutNodes({mode: 'hybrid', dataPlanes: 2})), [
      ['cp-1', undefined, '127.0.0.1:8001', '0.0.0.0:8005', '127.0.0.1:8007'],
      ['dp-1', '0.0.0.0:8000, 0.0.0.0:8443 ssl', undefined, undefined, '127.0.0.1:8107'],
      ['dp-2', '0.0.0.0:8100, 0.0.0.0:8543 ssl', undefined, undefined, '127.0.0.1:8207'],
    ])
  })

  it('ports given for the first node replace the defaults; later nodes still add 100', () => {
    const base = {proxy: 9000, proxySsl: 9443, admin: 9001, status: 9007}
    assert.deepEqual(ports(layoutNodes({mode: 'distributed', nodes: 2, ports: base})), [
      ['node-1', '0.0.0.0:9000, 0.0.0.0:9443 ssl', '127.0.0.1:9001', undefined, '127.0.0.1:9007'],
      ['node-2', '0.0.0.0:9100, 0.0.0.0:9543 ssl', '127.0.0.1:9101', undefined, '127.0.0.1:9107'],
    ])
    assert.deepEqual(ports(layoutNodes({mode: 'hybrid', dataPlanes: 1, ports: {admin: 7001}})), [
      ['cp-1', undefined, '127.0.0.1:7001', '0.0.0.0:8005', '127.0.0.1:8007'],
      ['dp-1', '0.0.0.0:8000, 0.0.0.0:8443 ssl', undefined, undefined, '127.0.0.1:8107'],
    ])
  })

  it('distributed: node-k takes the defaults plus 100·(k−1); the YAML is a valid spec', () => {
    const nodes = layoutNodes({mode: 'distributed', nodes: 3})
    assert.deepEqual(ports(nodes)[2], ['node-3', '0.0.0.0:8200, 0.0.0.0:8643 ssl', '127.0.0.1:8201', undefined, '127.0.0.1:8207'])
    const doc = spec('distributed', parse(`nodes:\n${nodesYaml(nodes)}`).nodes)
    assert.equal(problems(doc), '')
  })
})
