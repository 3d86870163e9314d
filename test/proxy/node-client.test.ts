/**
 * The public-API upstream client, the fallback when Node's internal HTTP parser is missing
 * or changed: the parser's start-up check passes on this Node (so the fast client is used),
 * and the core proxy tests (routing, timeouts, retries, errors, streaming) run again with
 * `KCTL_UPSTREAM_CLIENT=node`, which forces the fallback.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {fastClientProblem, UpstreamPools, upstreamClientKind} from '../../src/runtime/proxy/upstream/index.js'

test("the internal parser passes its check on this Node, so the fast client is the default", () => {
  assert.equal(fastClientProblem(), null)
  const saved = process.env.KCTL_UPSTREAM_CLIENT
  delete process.env.KCTL_UPSTREAM_CLIENT
  try {
    const notices: string[] = []
    assert.equal(upstreamClientKind((m) => notices.push(m)), 'fast')
    assert.deepEqual(notices, [])
  } finally {
    if (saved !== undefined) process.env.KCTL_UPSTREAM_CLIENT = saved
  }
})

test('KCTL_UPSTREAM_CLIENT=node selects the public client', () => {
  process.env.KCTL_UPSTREAM_CLIENT = 'node'
  assert.equal(new UpstreamPools().kind, 'node')
})

// Every test of these files now runs through the fallback client (set above, read per pool set).
process.env.KCTL_UPSTREAM_CLIENT = 'node'
await import('./proxy.test.js')
await import('./routing.test.js')
