/**
 * Kong's spec/02-integration/05-proxy/01-proxy_spec.lua (3.9), ported: the same describe/it
 * titles, against real node processes. Kong counts the `server` blocks of the nginx
 * configuration it renders; kctl renders none, so the port checks what those blocks are
 * for: which addresses the node's proxy listens on (the node's `GET /` configuration and
 * connections to them). The listeners do not depend on the database: the nodes run with
 * `database = off`. kctl has no stream (TCP) proxy: the `#stream` blocks are skipped.
 */
import assert from 'node:assert/strict'
import {afterEach, describe, test as it} from 'node:test'
import {findFreePort} from '../../../src/kit/ports.js'
import {KongClient} from '../admin-api/kong-client.js'
import {accepts, startOffNode, type OffNode} from '../admin-api/off-node.js'
import {until} from '../../helpers/until.js'

const NO_STREAM = 'kctl has no stream (TCP) proxy: no `stream_listen`, no tcp routes'

describe('Proxy interface listeners', () => {
  let node: OffNode | undefined
  afterEach(async () => {
    await node?.stop()
    node = undefined
  })

  it('disabled', async () => {
    node = await startOffNode({proxy_listen: 'off'})
    // the node's own listeners: the Admin API answers, no proxy listener is open
    const conf = (await node.client.get('/')).json.configuration
    assert.equal(conf.proxy_listen, 'off')
    assert.deepEqual(conf.proxy_listeners ?? [], [])
    // the port the node would have had for its proxy
    assert.equal(await accepts(node.proxyPort), false)
  })

  it('multiple', async () => {
    const ports = [await findFreePort(), await findFreePort()]
    node = await startOffNode({proxy_listen: ports.map((p) => `127.0.0.1:${p}`).join(', ')})
    const conf = (await node.client.get('/')).json.configuration
    assert.equal(conf.proxy_listen, `127.0.0.1:${ports[0]}, 127.0.0.1:${ports[1]}`)
    // the node opens its proxy listeners after its Admin API (which startOffNode waits for)
    for (const port of ports) await until(`the proxy to listen on ${port}`, () => accepts(port), {timeoutMs: 15_000})
    for (const port of ports) {
      const res = await new KongClient(`http://127.0.0.1:${port}`).get('/')
      assert.equal(res.status, 404)
    }
  })
})

describe('#stream proxy interface listeners', () => {
  it('disabled', {skip: NO_STREAM}, () => {})
  it('multiple', {skip: NO_STREAM}, () => {})
})

describe('[stream, flavor = traditional_compatible]', () => {
  it('routes by destination port without port map', {skip: NO_STREAM}, () => {})
  it('uses port maps configuration to route by destination port', {skip: NO_STREAM}, () => {})
  it('fails to route when no port map is specified and route is not found', {skip: NO_STREAM}, () => {})
  it('destinations has more than 3 items', {skip: NO_STREAM}, () => {})
})
