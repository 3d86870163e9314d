/** kctl.yaml edited by `kctl scale`: comments and layout kept, names and ports of new nodes, the last nodes removed. */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {parse} from 'yaml'
import {scaleSpec} from '../../src/cluster/spec-scale.js'

const SPEC = `# my cluster
apiVersion: kctl/v1
kind: Cluster
metadata:
  name: hy
spec:
  mode: hybrid
  database: {embedded: true}
  nodes:
    - name: cp-1
      role: control_plane
      admin_listen: 127.0.0.1:8001
      cluster_listen: 0.0.0.0:8005
      status_listen: 127.0.0.1:8007
    # the edge
    - name: dp-1
      role: data_plane
      proxy_listen: 0.0.0.0:8000, 0.0.0.0:8443 ssl
      status_listen: 127.0.0.1:8107
      conf: {headers: "off"}
`

describe('scaleSpec', () => {
  test('adds data planes after the last one, with its conf, the next names and ports shifted past every port in use', () => {
    const out = scaleSpec(SPEC, 'kctl.yaml', 'data_plane', 3, 'dp-')
    assert.deepEqual(out.added, ['dp-2', 'dp-3'])
    assert.deepEqual(out.removed, [])
    assert.match(out.text, /^# my cluster\n/, 'comments kept')
    assert.match(out.text, /# the edge\n/)
    const nodes = parse(out.text).spec.nodes
    assert.deepEqual(nodes.map((n: {name: string}) => n.name), ['cp-1', 'dp-1', 'dp-2', 'dp-3'])
    assert.equal(nodes[2].proxy_listen, '0.0.0.0:8100, 0.0.0.0:8543 ssl')
    assert.equal(nodes[2].status_listen, '127.0.0.1:8207')
    assert.equal(nodes[3].proxy_listen, '0.0.0.0:8200, 0.0.0.0:8643 ssl')
    assert.equal(nodes[3].status_listen, '127.0.0.1:8307')
    assert.deepEqual(nodes[3].conf, {headers: 'off'})
  })

  test('removes the last ones; the count it has is no change', () => {
    const three = scaleSpec(SPEC, 'kctl.yaml', 'data_plane', 3, 'dp-').text
    const one = scaleSpec(three, 'kctl.yaml', 'data_plane', 1, 'dp-')
    assert.deepEqual(one.removed, ['dp-2', 'dp-3'], 'in spec order')
    assert.deepEqual(parse(one.text).spec.nodes.map((n: {name: string}) => n.name), ['cp-1', 'dp-1'])
    const same = scaleSpec(SPEC, 'kctl.yaml', 'data_plane', 1, 'dp-')
    assert.deepEqual([same.added, same.removed], [[], []])
  })

  test('a name already taken is skipped', () => {
    const out = scaleSpec(SPEC.replace('name: cp-1', 'name: dp-2'), 'kctl.yaml', 'data_plane', 2, 'dp-')
    assert.deepEqual(out.added, ['dp-3'])
  })

  test('a spec without a node of that role to copy says so', () => {
    assert.throws(() => scaleSpec(SPEC, 'kctl.yaml', 'traditional', 2, 'node-'), /no traditional node to copy/)
  })
})
