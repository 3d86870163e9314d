/**
 * An apply whose answer is lost is never reported as "nothing applied": a real TCP
 * proxy in front of a real node forwards the write, lets the node commit it, and closes
 * the client's connection instead of relaying the answer. `kctl apply` exits 3 saying
 * the outcome is unknown and how to check; `kctl diff` then shows the change went in.
 * A write that cannot connect at all is "can't reach": nothing was sent.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {createServer, connect, type AddressInfo, type Server, type Socket} from 'node:net'
import {join} from 'node:path'
import {AdminUnreachable, AnswerLost, send} from '../../src/declarative/admin-http.js'
import {findFreePort} from '../../src/kit/ports.js'
import {adminBed, type TestAdmin} from '../helpers/gateway.js'
import {kctlIn} from '../helpers/kctl.js'

let admin: TestAdmin
let dir: string
adminBed('kctl-answer-lost-', (bed) => void ({api: admin, dir} = bed))

const kctl = (...args: string[]) => kctlIn(dir, ...args)

/**
 * Forwards every connection to `port`; on a connection whose request is not a GET, the
 * first bytes of the answer close the client's connection instead (the node has
 * committed by then: it answers after the commit). `dropped` counts those.
 */
async function answerDropper(port: number): Promise<{url: string; dropped: number; close(): Promise<void>}> {
  const sockets = new Set<Socket>()
  const state = {dropped: 0}
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    sockets.add(client).add(upstream)
    let write: boolean | undefined
    client.on('data', (chunk) => {
      write ??= !chunk.toString('latin1').startsWith('GET ')
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (!write) return void client.write(chunk)
      state.dropped++
      client.destroy()
      upstream.destroy()
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get dropped() {
      return state.dropped
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}


describe('a lost answer is an unknown outcome', () => {
  it('apply: exit 3, says the outcome is unknown and to check with kctl diff; diff then shows the change went in', async () => {
    const proxy = await answerDropper(Number(new URL(admin.url).port))
    try {
      const f = join(dir, 'kong.yaml')
      await writeFile(f, '_format_version: "3.0"\nservices:\n- name: committed\n  host: example.com\n  routes:\n  - name: r\n    paths: [/c]\n')
      const r = await kctl('apply', f, '--admin-url', proxy.url)
      assert.equal(r.code, 3, r.stdout + r.stderr)
      assert.equal(proxy.dropped, 1)
      assert.match(r.stderr, new RegExp(`Error: The connection to the Admin API at ${proxy.url} failed after POST /kctl/sync was sent and before its answer came \\(\\w+\\)\\. Whether the gateway applied the change is unknown\\.`))
      assert.match(r.stderr, /Next: Check with `kctl diff` and the same files \(or `kctl dump`\): no changes left means it was applied; otherwise run the command again\./)
      assert.doesNotMatch(r.stderr, /Can't reach/)
      // The node did commit it.
      assert.equal((await admin.call('GET', '/services/committed')).status, 200)
      const diff = await kctl('diff', f, '--admin-url', proxy.url, '--non-zero-exit-code')
      assert.equal(diff.code, 0, diff.stdout + diff.stderr)
      assert.match(diff.stdout, /Created: 0 {2}Updated: 0 {2}Deleted: 0/)

      await writeFile(f, '_format_version: "3.0"\nservices:\n- name: committed\n  host: example.org\n')
      const json = await kctl('apply', f, '--admin-url', proxy.url, '--yes', '--json')
      assert.equal(json.code, 3, json.stderr)
      const err = JSON.parse(json.stdout).error
      assert.equal(err.code, 'APPLY_OUTCOME_UNKNOWN')
      assert.match(err.hint, /kctl diff/)
      assert.equal((await admin.call('GET', '/services/committed')).body.host, 'example.org')
    } finally {
      await proxy.close()
    }
  })

  it('a write that cannot connect was not sent; one whose answer is lost was', async () => {
    const closed = `http://127.0.0.1:${await findFreePort()}`
    await assert.rejects(send(closed, 'POST', '/kctl/sync', {data: '{"events":[]}', headers: {'content-type': 'application/json'}}), (err) => err instanceof AdminUnreachable && err.reason === 'ECONNREFUSED')
    const proxy = await answerDropper(Number(new URL(admin.url).port))
    try {
      await assert.rejects(send(proxy.url, 'POST', '/kctl/sync', {data: '{"events":[]}', headers: {'content-type': 'application/json'}}), (err) => err instanceof AnswerLost && err.path === '/kctl/sync')
      // A read through the same proxy is answered.
      assert.equal((await send(proxy.url, 'GET', '/')).status, 200)
    } finally {
      await proxy.close()
    }
  })
})
