/**
 * Kong's spec/02-integration/04-admin_api/08-targets_routes_spec.lua (3.9), ported: the
 * same describe/it titles and assertions, against a real Admin API over Postgres whose
 * node proxies (target health lives in its balancers). `/targets/{target}/(un)healthy`
 * runs for an IPv4, an IPv6 and a host-name target, and the hybrid-mode block on a
 * control plane. Kong's DNS mock (`custom_localhost` → 127.0.0.1, no other name) is a
 * real nameserver of the test's own that the node asks (`dns_resolver`), with a hosts file
 * (`dns_hostsfile`) that names only `localhost`.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, beforeEach, describe, test as it} from 'node:test'
import {clusterBed, freshDatabase, startControlPlane, type ControlPlaneNode} from '../../helpers/nodes.js'
import {until} from '../../helpers/until.js'
import {startTestDnsServer, type TestDnsServer} from '../../helpers/dns-server.js'
import {dnsSettings} from '../../../src/runtime/conf/dns.js'
import {NameResolver} from '../../../src/runtime/proxy/dns.js'
import {itContentTypes, KongClient, startSpecNode, type SpecNode} from './kong-client.js'

/** A control plane, for the hybrid-mode case (Kong's spec starts one with role = control_plane). */
const hybridBed = clusterBed('kctl-kong-targets-hybrid-')

describe('Admin API #postgres', () => {
  let node: SpecNode
  let dnsMock: TestDnsServer
  let hostsDir = ''
  before(async () => {
    dnsMock = await startTestDnsServer({custom_localhost: ['127.0.0.1']})
    hostsDir = mkdtempSync(join(tmpdir(), 'kctl-kong-targets-'))
    const hostsfile = join(hostsDir, 'hosts')
    writeFileSync(hostsfile, '127.0.0.1 localhost\n::1 localhost\n')
    const dns = new NameResolver(dnsSettings({dns_hostsfile: hostsfile, dns_resolver: [dnsMock.address], dns_valid_ttl: null, dns_stale_ttl: 3600, dns_not_found_ttl: 30, dns_error_ttl: 1}))
    // a node that proxies: target health lives in its balancers
    node = await startSpecNode({proxy: true, proxyOptions: {dns}})
  })
  after(async () => {
    await node?.close()
    await dnsMock?.close()
    if (hostsDir) rmSync(hostsDir, {recursive: true, force: true})
  })
  const client = () => node.client
  const bp = () => node.bp
  const weightDefault = 100
  const weightMax = 65535
  const defaultPort = 8000
  const addTarget = (upstream: {id: string}, target: string, weight: number) => bp().targets.insert({upstream: {id: upstream.id}, target, weight})

  describe('/targets', () => {
    it('returns a 404', {skip: 'kctl serves `/targets` as a top-level collection, as every other kind: `kctl apply`, `diff` and `dump` read each kind there; Kong 3.9 answers 404 `Not found`'}, async () => {
      const res = await client().get('/targets')
      assert.equal(res.status, 404, res.text)
      assert.equal(res.json.message, 'Not found')
    })
  })

  describe('/upstreams/{upstream}/targets/', () => {
    describe('POST', () => {
      itContentTypes('creates a target with defaults', (contentType) => async () => {
        const upstream = await bp().upstreams.insert({slots: 10})
        const res = await client().post(`/upstreams/${upstream.name}/targets/`, {body: {target: 'konghq.test'}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        const json = res.json
        assert.equal(json.target, `konghq.test:${defaultPort}`)
        assert.equal(typeof json.created_at, 'number')
        assert.equal(typeof json.id, 'string')
        assert.equal(json.weight, weightDefault)
      })
      itContentTypes('creates a target without defaults', (contentType) => async () => {
        const upstream = await bp().upstreams.insert({slots: 10})
        const res = await client().post(`/upstreams/${upstream.name}/targets/`, {body: {target: 'konghq.test:123', weight: 99}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        const json = res.json
        assert.equal(json.target, 'konghq.test:123')
        assert.equal(typeof json.created_at, 'number')
        assert.equal(typeof json.id, 'string')
        assert.equal(json.weight, 99)
      })
      itContentTypes('creates a target with weight = 0', (contentType) => async () => {
        const upstream = await bp().upstreams.insert({slots: 10})
        const res = await client().post(`/upstreams/${upstream.name}/targets/`, {body: {target: 'zero.weight.test:8080', weight: 0}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        const json = res.json
        assert.equal(json.target, 'zero.weight.test:8080')
        assert.equal(typeof json.created_at, 'number')
        assert.equal(typeof json.id, 'string')
        assert.equal(json.weight, 0)
        const res2 = await client().get(`/upstreams/${upstream.name}/targets/zero.weight.test:8080`)
        assert.equal(res2.status, 200, res2.text)
        assert.deepEqual(res2.json, json)
      })

      describe('errors', () => {
        it('handles malformed JSON body', async () => {
          const upstream = await bp().upstreams.insert({slots: 10})
          const res = await client().post(`/upstreams/${upstream.name}/targets/`, {raw: '{"hello": "world"', headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 400)
          assert.deepEqual(res.json, {message: 'Cannot parse JSON body'})
        })
        itContentTypes('handles invalid input', (contentType) => async () => {
          const upstream = await bp().upstreams.insert({slots: 10})
          let res = await client().post(`/upstreams/${upstream.name}/targets/`, {body: {weight: 0}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 400, res.text)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {target: 'required field missing'})
          res = await client().post(`/upstreams/${upstream.name}/targets/`, {body: {target: 'some invalid host name'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 400, res.text)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {target: 'Invalid target; not a valid hostname or ip address'})
          res = await client().post(`/upstreams/${upstream.name}/targets/`, {body: {target: 'konghq.test', weight: weightMax + 1}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 400, res.text)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {weight: `value should be between 0 and ${weightMax}`})
        })
        for (const method of ['PUT', 'PATCH', 'DELETE']) {
          itContentTypes(`returns 405 on ${method}`, (contentType) => async () => {
            const upstream = await bp().upstreams.insert({slots: 10})
            const res = await client().send(method, `/upstreams/${upstream.name}/targets/`, {body: {target: 'konghq.test'}, headers: {'Content-Type': contentType}})
            assert.equal(res.status, 405, res.text)
          })
        }
        itContentTypes('fails to create duplicated targets', (contentType) => async () => {
          const upstream = await bp().upstreams.insert({slots: 10})
          let res = await client().post(`/upstreams/${upstream.name}/targets/`, {body: {target: 'single-target.test:8080', weight: 1}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 201, res.text)
          const json = res.json
          assert.equal(json.target, 'single-target.test:8080')
          assert.equal(typeof json.created_at, 'number')
          assert.equal(typeof json.id, 'string')
          assert.equal(json.weight, 1)
          res = await client().post(`/upstreams/${upstream.name}/targets/`, {body: {target: 'single-target.test:8080', weight: 100}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 409, res.text)
        })
      })
    })

    describe('GET', () => {
      let upstream: any
      let apis: any[] = []
      const targetListToMap = (list: any[]) => {
        const map: Record<string, any> = {}
        for (const t of list) {
          const c = {...t}
          if (c.tags === null) delete c.tags
          map[c.target] = c
        }
        return map
      }
      beforeEach(async () => {
        upstream = await bp().upstreams.insert({})
        apis = [await addTarget(upstream, 'api-1:80', 10), await addTarget(upstream, 'api-2:80', 0), await addTarget(upstream, 'api-3:80', 50), await addTarget(upstream, 'api-4:80', 10)]
      })
      for (const append of ['', '/']) {
        it(`shows all targets with ${append === '' ? 'no' : ''} ending slash`, async () => {
          const res = await client().get(`/upstreams/${upstream.name}/targets${append}`)
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.data.length, 4)
          assert.deepEqual(targetListToMap(res.json.data), targetListToMap(apis))
        })
      }
      describe('empty results', () => {
        it('data property is an empty array', async () => {
          const empty = await bp().upstreams.insert({})
          const res = await client().get(`/upstreams/${empty.name}/targets`)
          assert.equal(res.status, 200)
          assert.match(res.text, /"data":\[\]/)
        })
      })
    })
  })

  describe('/upstreams/{upstream}/health/', () => {
    describe('GET', () => {
      let upstream: any
      let nodeId = ''

      const addTargets = async (format: (i: number) => string) => {
        const targets: any[] = []
        for (const [i, weight] of [10, 10, 10, 10].entries()) {
          const res = await client().post(`/upstreams/${upstream.name}/targets`, {body: {target: format(i + 1), weight}})
          assert.equal(res.status, 201, res.text)
          targets.push(res.json)
        }
        return targets
      }

      /** Kong's check_health_endpoint: `n` targets, the newest first, each address and target `health`. */
      const checkHealthEndpoint = async (targets: any[], n: number, health: string) => {
        for (const append of ['', '/']) {
          const res = await client().get(`/upstreams/${upstream.name}/health${append}`)
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.node_id, nodeId)
          assert.equal(res.json.data.length, n)
          // when multiple active targets are present, we only see the last one
          assert.equal(res.json.data[0].id, targets[3].id)
          // the remaining ones, backwards (the targets were walked backwards)
          assert.equal(res.json.data[1].target, targets[2].target)
          assert.equal(res.json.data[2].target, targets[1].target)
          for (const t of res.json.data) {
            if (t.data?.addresses === undefined) continue
            for (const a of t.data.addresses) assert.equal(a.health, health, `${t.target} ${a.ip}`)
            assert.equal(t.health, health, t.target)
          }
        }
      }

      const checkHealthAddresses = (addresses: any[], health: string) => {
        assert.ok(Array.isArray(addresses), 'data.addresses')
        for (const a of addresses) assert.equal(a.health, health)
      }

      /** The upstream's one target (weight 0 first), its addresses `health`. */
      const onlyTargetAddresses = async (health: string) => {
        const res = await client().get(`/upstreams/${upstream.name}/health`)
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 1)
        checkHealthAddresses(res.json.data[0].data.addresses, health)
      }

      before(async () => {
        const res = await client().get('/')
        assert.equal(res.status, 200)
        assert.equal(typeof res.json.node_id, 'string')
        nodeId = res.json.node_id
      })

      beforeEach(async () => {
        const anyUpstream = await bp().upstreams.insert({})
        const res = await client().post('/upstreams', {body: {name: `${anyUpstream.name}-health`}})
        assert.equal(res.status, 201, res.text)
        upstream = res.json
      })

      describe('with healthchecks off', () => {
        it('returns HEALTHCHECKS_OFF for targets that resolve', async () => {
          await addTargets((i) => `127.0.0.1:8${i}`)
          const targets = await addTargets((i) => `custom_localhost:8${i}`)
          await checkHealthEndpoint(targets, 8, 'HEALTHCHECKS_OFF')
        })

        it('returns DNS_ERROR if DNS cannot be resolved', async () => {
          const targets = await addTargets((i) => `bad-health-target-${i}:80`)
          await checkHealthEndpoint(targets, 4, 'DNS_ERROR')
        })
      })

      describe('with healthchecks on', () => {
        let checked = false
        beforeEach(async () => {
          // Kong sleeps a second before the first, so that updated_at moves
          if (!checked) await sleep(1000)
          const res = await client().patch(`/upstreams/${upstream.name}`, {body: {healthchecks: {passive: {healthy: {successes: 1}, unhealthy: {tcp_failures: 1, http_failures: 1, timeouts: 1}}}}})
          assert.equal(res.status, 200, res.text)
          if (!checked) {
            assert.ok(upstream.updated_at < res.json.updated_at, `${upstream.updated_at} < ${res.json.updated_at}`)
            checked = true
          }
        })

        it('returns DNS_ERROR if DNS cannot be resolved', async () => {
          const targets = await addTargets((i) => `bad-target-${i}:80`)
          await checkHealthEndpoint(targets, 4, 'DNS_ERROR')
        })

        it('returns HEALTHY if failure not detected', async () => {
          const targets = await addTargets((i) => `custom_localhost:222${i}`)
          await checkHealthEndpoint(targets, 4, 'HEALTHY')
        })

        it('returns UNHEALTHY if failure detected', async () => {
          const targets = await addTargets((i) => `custom_localhost:222${i}`)
          const res = await client().put(`/upstreams/${upstream.name}`, {body: {healthchecks: {active: {healthy: {interval: 1}, unhealthy: {interval: 1, tcp_failures: 1}}}}})
          assert.equal(res.status, 200, res.text)
          await until('every target to be UNHEALTHY', async () => {
            try {
              await checkHealthEndpoint(targets, 4, 'UNHEALTHY')
              return true
            } catch {
              return false
            }
          }, {timeoutMs: 15_000})
          await checkHealthEndpoint(targets, 4, 'UNHEALTHY')
        })

        it('returns HEALTHCHECKS_OFF for target with weight 0', async () => {
          const res = await client().post(`/upstreams/${upstream.name}/targets`, {body: {target: 'custom_localhost:2221', weight: 0}})
          assert.equal(res.status, 201, res.text)
          await until('the weight 0 target to show', async () => {
            try {
              await onlyTargetAddresses('HEALTHCHECKS_OFF')
              return true
            } catch {
              return false
            }
          }, {timeoutMs: 15_000})
          await onlyTargetAddresses('HEALTHCHECKS_OFF')
        })

        it('returns HEALTHCHECKS_OFF for target with weight 0', async () => {
          const res = await client().post(`/upstreams/${upstream.name}/targets`, {body: {target: 'custom_localhost:2221', weight: 0}})
          assert.equal(res.status, 201, res.text)
          // Kong gives the weight change 0.3 s to kick in
          await sleep(300)
          await onlyTargetAddresses('HEALTHCHECKS_OFF')
        })

        it('return HEALTHY if weight of target turns from zero to non-zero', async () => {
          let res = await client().post(`/upstreams/${upstream.name}/targets`, {body: {target: 'custom_localhost:2221', weight: 0}})
          assert.equal(res.status, 201, res.text)
          await sleep(300)
          await onlyTargetAddresses('HEALTHCHECKS_OFF')
          res = await client().patch(`/upstreams/${upstream.name}/targets/custom_localhost:2221`, {body: {weight: 10}})
          assert.equal(res.status, 200, res.text)
          await sleep(300)
          await onlyTargetAddresses('HEALTHY')
        })
      })
    })
  })

  describe('/upstreams/{upstream}/targets/all/', () => {
    describe('GET', () => {
      let upstream: any
      beforeEach(async () => {
        upstream = await bp().upstreams.insert({})
        for (let i = 1; i <= 10; i++) await addTarget(upstream, `api-${i}:80`, 100)
      })
      it('retrieves the first page', async () => {
        const res = await client().get(`/upstreams/${upstream.name}/targets/all`)
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 10)
      })
      it('offset is a string', async () => {
        const res = await client().get(`/upstreams/${upstream.name}/targets/all`, {query: {size: 3}})
        assert.equal(res.status, 200, res.text)
        assert.equal(typeof res.json.offset, 'string')
      })
      it('next url ends with /targets/all', async () => {
        const res = await client().get(`/upstreams/${upstream.name}/targets/all`, {query: {size: 3}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.next, `/upstreams/${upstream.name}/targets/all?offset=${encodeURIComponent(res.json.offset)}`)
      })
      it('paginates a set', async () => {
        const pages: unknown[] = []
        let offset: string | undefined
        for (let i = 1; i <= 4; i++) {
          const res = await client().get(`/upstreams/${upstream.name}/targets/all`, {query: {size: 3, offset}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.data.length, i < 4 ? 3 : 1)
          if (i > 1) assert.notDeepEqual(res.json, pages[i - 2])
          offset = res.json.offset
          pages.push(res.json)
        }
      })
      it('ignores filters', async () => {
        const res = await client().get(`/upstreams/${upstream.name}/targets/all`, {query: {foo: 'bar'}})
        assert.equal(res.status, 200, res.text)
      })
      it('ignores an invalid body', async () => {
        const res = await client().get(`/upstreams/${upstream.name}/targets/all`, {raw: 'this fails if decoded as json', headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 200, res.text)
      })
      describe('empty results', () => {
        it('data property is an empty array', async () => {
          const empty = await bp().upstreams.insert({})
          const res = await client().get(`/upstreams/${empty.name}/targets/all`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, {data: [], next: null})
          assert.match(res.text, /"data":\[\]/)
        })
      })
    })
  })

  describe('/upstreams/{upstream}/targets/{target}/(un)healthy', () => {
    const localhosts = {ipv4: '127.0.0.1', ipv6: '[0000:0000:0000:0000:0000:0000:0000:0001]', hostname: 'localhost'}
    for (const [mode, localhost] of Object.entries(localhosts)) {
      describe(`POST #${mode}`, () => {
        let upstream: any
        let target: any
        let wrongTarget: any
        let targetPath = ''
        before(async () => {
          const myTargetName = `${localhost}:8192`
          wrongTarget = await addTarget(await bp().upstreams.insert({}), myTargetName, 10)
          upstream = await bp().upstreams.insert({})
          let res = await client().patch(`/upstreams/${upstream.id}`, {body: {healthchecks: {passive: {healthy: {successes: 1}, unhealthy: {tcp_failures: 1, http_failures: 1, timeouts: 1}}}}})
          assert.equal(res.status, 200, res.text)
          res = await client().post(`/upstreams/${upstream.id}/targets`, {body: {target: myTargetName, weight: 10, upstream: {id: res.json.id}}})
          assert.equal(res.status, 201, res.text)
          target = res.json
          assert.equal(target.target, myTargetName)
          targetPath = `/upstreams/${upstream.id}/targets/${target.target}`
        })
        /** The first target's health on GET /upstreams/{u}/health, once it is `health` (Kong's pwait_until, 15 s). */
        const healthBecomes = (health: string) =>
          until(`${target.target} to be ${health}`, async () => {
            const res = await client().get(`/upstreams/${upstream.id}/health`)
            assert.equal(res.status, 200, res.text)
            assert.equal(res.json.data[0].target, target.target)
            return res.json.data[0].health === health
          }, {timeoutMs: 15_000})

        it('checks every combination of valid and invalid upstream and target', async () => {
          for (const [i, u] of [randomUUID(), 'invalid', upstream.name, upstream.id].entries()) {
            for (const [j, t] of [randomUUID(), 'invalid:1234', wrongTarget.id, target.target, target.id].entries()) {
              for (const e of ['healthy', 'unhealthy']) {
                const expected = i >= 2 && j >= 3 ? 204 : 404
                const path = `/upstreams/${u}/targets/${t}/${e}`
                assert.equal((await client().put(path)).status, expected, `bad status for path ${path}`)
              }
            }
          }
        })

        it('flips the target status from UNHEALTHY to HEALTHY', async () => {
          assert.equal((await client().put(`${targetPath}/unhealthy`)).status, 204)
          await healthBecomes('UNHEALTHY')
          assert.equal((await client().put(`${targetPath}/healthy`)).status, 204)
          await healthBecomes('HEALTHY')
        })

        it('flips the target status from HEALTHY to UNHEALTHY', async () => {
          assert.equal((await client().put(`${targetPath}/healthy`)).status, 204)
          await healthBecomes('HEALTHY')
          assert.equal((await client().put(`${targetPath}/unhealthy`)).status, 204)
          await healthBecomes('UNHEALTHY')
        })
      })
    }
  })

  describe('/upstreams/{upstream}/targets/{target}', () => {
    let upstream: any
    let target: any
    beforeEach(async () => {
      upstream = await bp().upstreams.insert({})
      await addTarget(upstream, 'api-1:80', 10)
      target = await addTarget(upstream, 'api-2:80', 10)
    })
    describe('GET', () => {
      it('returns target entity', async () => {
        const res = await client().get(`/upstreams/${upstream.name}/targets/${target.target}`)
        assert.equal(res.status, 200, res.text)
        const json = res.json
        delete json.tags
        delete json.updated_at
        const expected = {...target}
        delete expected.tags
        delete expected.updated_at
        assert.deepEqual(json, expected)
      })
    })
    describe('PATCH', () => {
      it('is allowed and works', async () => {
        let res = await client().patch(`/upstreams/${upstream.name}/targets/${target.target}`, {body: {weight: 659}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 200, res.text)
        let json = res.json
        assert.equal(typeof json.id, 'string')
        assert.equal(json.target, target.target)
        assert.equal(json.weight, 659)
        assert.ok(target.updated_at < json.updated_at, `updated_at ${json.updated_at} after ${target.updated_at}`)
        res = await client().get(`/upstreams/${upstream.name}/targets/${target.target}`)
        assert.equal(res.status, 200, res.text)
        json = res.json
        assert.equal(typeof json.id, 'string')
        assert.equal(json.weight, 659)
      })
    })
    describe('PUT', () => {
      it('updates target (by id)', async () => {
        target.target = `${target.target}1`
        let res = await client().put(`/upstreams/${upstream.name}/targets/${target.id}`, {body: {target: target.target}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 200, res.text)
        res = await client().get(`/upstreams/${upstream.name}/targets/${target.id}`)
        assert.equal(res.status, 200, res.text)
        const json = res.json
        delete json.tags
        delete json.updated_at
        const expected = {...target}
        delete expected.tags
        delete expected.updated_at
        assert.deepEqual(json, expected)
      })
      it('updates target (by target)', async () => {
        let res = await client().put(`/upstreams/${upstream.name}/targets/${target.target}`, {body: {target: `${target.target}1`}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 200, res.text)
        const tgt = res.json
        res = await client().get(`/upstreams/${upstream.name}/targets/${target.target}`)
        assert.equal(res.status, 404, res.text)
        res = await client().get(`/upstreams/${upstream.name}/targets/${target.target}1`)
        assert.equal(res.status, 200, res.text)
        assert.deepEqual(res.json, tgt)
      })
    })
    describe('DELETE', () => {
      for (const by of ['target', 'id'] as const) {
        it(`method DELETE actually deletes targets (by ${by})`, async () => {
          let res = await client().get(`/upstreams/${upstream.name}/targets/all`)
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.data.length, 2)
          res = await client().delete(`/upstreams/${upstream.name}/targets/${target[by]}`)
          assert.equal(res.status, 204, res.text)
          res = await client().get(`/upstreams/${upstream.name}/targets/all`)
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.data.length, 1)
          res = await client().get(`/upstreams/${upstream.name}/targets`)
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.data.length, 1)
          assert.equal(res.json.data[0].target, 'api-1:80')
        })
      }
    })
  })
})

describe('/upstreams/{upstream}/targets/{target}/(un)healthy not available in hybrid mode', () => {
  let cp: ControlPlaneNode
  before(async () => {
    cp = await startControlPlane(hybridBed.dir, hybridBed.pg, await freshDatabase(hybridBed.pg, `targets_hybrid_${process.pid}`), {cluster_cert: hybridBed.certFile, cluster_cert_key: hybridBed.keyFile})
  })
  after(() => cp?.node.stop())

  it('healthcheck endpoints not included in /endpoints', async () => {
    const res = await new KongClient(cp.admin).get('/endpoints')
    assert.equal(res.status, 200, res.text)
    const data: string[] = res.json.data
    for (const e of ['/upstreams/{upstreams}/targets/{targets}/healthy', '/upstreams/{upstreams}/targets/{targets}/unhealthy', '/upstreams/{upstreams}/targets/{targets}/{address}/healthy', '/upstreams/{upstreams}/targets/{targets}/{address}/unhealthy']) {
      assert.equal(data.includes(e), false, e)
    }
    // the rest is there, as on a node with a proxy
    assert.ok(data.includes('/upstreams/{upstreams}/health'))
    assert.ok(data.includes('/upstreams/{upstreams}/targets/all'))
  })
})
