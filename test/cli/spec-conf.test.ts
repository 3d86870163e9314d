/**
 * Extra Kong configuration in kctl.yaml (`spec.conf`, `spec.nodes[i].conf`): checked against
 * the runtime's keys with the key at fault named, rendered into kong.conf so the runtime
 * reads back exactly the value written (`#` escaped), a node's conf over the cluster's.
 */
import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {writeNodeConf} from '../../src/cluster/node-conf.js'
import {nodeExtraConf} from '../../src/cluster/spec-conf.js'
import {validateSpec} from '../../src/cluster/spec.js'
import {loadConf, parseConfText} from '../../src/runtime/conf/load.js'

const cp = {name: 'cp-1', role: 'control_plane'}
const dp = {name: 'dp-1', role: 'data_plane', status_listen: '127.0.0.1:8107'}
const doc = (conf: unknown, nodeConf?: unknown) => ({
  apiVersion: 'kctl/v1',
  kind: 'Cluster',
  metadata: {name: 't'},
  spec: {mode: 'hybrid', database: {embedded: true}, conf, nodes: [cp, {...dp, conf: nodeConf}]},
})
const problems = (d: unknown): string => {
  try {
    validateSpec(d)
    return ''
  } catch (err) {
    return (err as Error).message
  }
}

describe('spec conf', () => {
  it('accepts the runtime keys with values of their types', () => {
    assert.equal(problems(doc({cluster_ping_interval: 1, log_level: 'debug'}, {cluster_dp_labels: ['site:eu', 'tier:edge'], pg_timeout: 2000})), '')
    assert.equal(problems(doc(undefined, {cluster_dp_labels: 'site:eu'})), '')
  })

  it('names the key at fault: unknown (with a suggestion), wrong type, outside one_of, not a mapping', () => {
    assert.match(problems(doc({cluster_ping_intervl: 1})), /spec\.conf\.cluster_ping_intervl: not a configuration key of the gateway runtime \(did you mean cluster_ping_interval\?\)/)
    assert.match(problems(doc({zzz_unrelated_key: 1})), /spec\.conf\.zzz_unrelated_key: not a configuration key of the gateway runtime(?! \()/)
    assert.match(problems(doc({cluster_ping_interval: 'fast'})), /spec\.conf\.cluster_ping_interval: must be a number/)
    assert.match(problems(doc(undefined, {log_level: 'chatty'})), /spec\.nodes\[1\]\.conf\.log_level: must be one of debug, info, notice/)
    assert.match(problems(doc(undefined, {pg_ssl: 'maybe'})), /spec\.nodes\[1\]\.conf\.pg_ssl: kctl sets this key itself; set it through spec\.database/)
    assert.match(problems(doc({log_level: null})), /spec\.conf\.log_level: needs a value/)
    assert.match(problems(doc(['log_level'])), /spec\.conf: must be a mapping/)
    assert.match(problems(doc(undefined, {cluster_server_name: 'a\nrole = traditional'})), /spec\.nodes\[1\]\.conf\.cluster_server_name: must be one line/)
    // the runtime's own value checks, with Kong's messages, before any node is touched
    const values = problems(doc({trusted_ips: '10.0.0.0/8, lb.internal', upstream_keepalive_pool_size: -1}, {headers: ['server_tokens', 'Foo-Bar']}))
    assert.match(values, /spec\.conf\.trusted_ips: trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or CIDR block or 'unix:', got 'lb\.internal'/)
    assert.match(values, /spec\.conf\.upstream_keepalive_pool_size: upstream_keepalive_pool_size must be 0 or greater/)
    assert.match(values, /spec\.nodes\[1\]\.conf\.headers: headers: invalid entry 'Foo-Bar'/)
    assert.equal(problems(doc({trusted_ips: ['0.0.0.0/0', '::/0'], headers: 'off', upstream_keepalive_idle_timeout: 0})), '')
  })

  it('refuses the keys kctl sets, naming where they are set', () => {
    const msg = problems(doc({role: 'traditional', cluster_cert: '/x'}, {proxy_listen: '127.0.0.1:1', prefix: '/tmp'}))
    assert.match(msg, /spec\.conf\.role: kctl sets this key itself; set it through spec\.nodes\[i\]\.role/)
    assert.match(msg, /spec\.conf\.cluster_cert: kctl sets this key itself; set it through spec\.certificates/)
    assert.match(msg, /spec\.nodes\[1\]\.conf\.proxy_listen: kctl sets this key itself; set it through spec\.nodes\[1\]\.proxy_listen/)
    assert.match(msg, /spec\.nodes\[1\]\.conf\.prefix: kctl sets this key itself/)
  })

  it("a node's conf wins over the cluster's; booleans as on/off, lists comma separated", () => {
    const spec = validateSpec(doc({cluster_ping_interval: 1, log_level: 'info', pg_timeout: 100}, {log_level: 'debug', cluster_dp_labels: ['a:1', 'b:2']})).spec
    assert.deepEqual(nodeExtraConf(spec, 'dp-1'), {cluster_ping_interval: '1', log_level: 'debug', pg_timeout: '100', cluster_dp_labels: 'a:1, b:2'})
    assert.deepEqual(nodeExtraConf(spec, 'cp-1'), {cluster_ping_interval: '1', log_level: 'info', pg_timeout: '100'})
  })

  it('kong.conf round trip: the runtime reads back every value, # included, log_level once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kctl-conf-'))
    try {
      const node = {name: 'n', role: 'traditional' as const, prefix: join(dir, 'p#1'), confPath: join(dir, 'kong.conf'), logFile: join(dir, 'n.log'), intent: 'stopped' as const, listen: {}}
      const connection = {host: '127.0.0.1', port: 5432, user: 'kong', password: 'pa#ss w\\#rd', database: 'kong', ssl: false}
      await writeNodeConf({cluster: 'c', node, connection, extra: {log_level: 'debug', cluster_server_name: 'a#b', cluster_ping_interval: '1'}})
      const text = await readFile(node.confPath, 'utf8')
      assert.equal(text.match(/^log_level = /gm)?.length, 1, text)
      const parsed = parseConfText(text)
      assert.equal(parsed.pg_password, 'pa#ss w\\#rd')
      assert.equal(parsed.cluster_server_name, 'a#b')
      assert.equal(parsed.prefix, node.prefix)
      const conf = loadConf({file: node.confPath, env: {}})
      assert.equal(conf.log_level, 'debug')
      assert.equal(conf.cluster_ping_interval, 1)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
