/**
 * Kong's spec/03-plugins/09-key-auth/04-hybrid_mode_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real control plane (over Postgres) and a
 * real data plane process, the key created on the CP's Admin API with a `ttl` of 10
 * seconds and used on the DP's proxy. Kong runs the file for three clustering settings
 * (`cluster_rpc`, `cluster_incremental_sync`): kctl's counterpart of the second is
 * `kctl_cluster_incremental_sync` (whole configurations or deltas); it has no RPC channel,
 * so `rpc=on inc_sync=off` is the same run as `rpc=off inc_sync=off` and is skipped.
 */
import {after, before, describe, test as it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {clusterBed, freshDatabase, spawnDataPlane, startControlPlane, type ControlPlaneNode, type DataPlaneNode} from '../../helpers/nodes.js'
import {until} from '../../helpers/until.js'
import {KongClient, type KongResponse} from '../admin-api/kong-client.js'
import {resStatus} from './kong-proxy.js'

const bed = clusterBed('kctl-kong-key-auth-hybrid-')
const strategy = 'postgres'
const created = async (res: Promise<KongResponse>) => JSON.parse(resStatus(201, await res))

for (const [rpc, incSync] of [['off', 'off'], ['on', 'off'], ['on', 'on']]) {
  const title = `Plugin: key-auth (access) [#${strategy} inc_sync=${incSync}] auto-expiring keys`
  if (rpc === 'on' && incSync === 'off') {
    describe(title, () => {
      it("authenticate for up to 'ttl'", {skip: 'kctl has no cluster_rpc setting: the same run as rpc=off inc_sync=off'}, () => {})
    })
    continue
  }
  describe(title, () => {
    // Give a bit of time to reduce test flakyness on slow setups
    const ttl = 10
    let cp: ControlPlaneNode
    let dp: DataPlaneNode

    before(async () => {
      const cluster = {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile, kctl_cluster_incremental_sync: incSync === 'on' ? 'on' : 'off'}
      const database = await freshDatabase(bed.pg, `key_auth_hybrid_${incSync}_${process.pid}`)
      cp = await startControlPlane(bed.dir, bed.pg, database, cluster)
      const admin = new KongClient(cp.admin)
      const service = await created(admin.post('/services', {body: {url: bed.upstreamUrl}}))
      const r = await created(admin.post('/routes', {body: {hosts: ['key-ttl-hybrid.test'], service: {id: service.id}}}))
      await created(admin.post('/plugins', {body: {name: 'key-auth', route: {id: r.id}}}))
      await created(admin.post('/consumers', {body: {username: 'Jafar'}}))
      dp = await spawnDataPlane(bed.dir, cp.cluster, cluster)
      await dp.node.waitReady()
    })
    after(async () => {
      await dp?.node.stop()
      await cp?.node.stop()
    })

    it("authenticate for up to 'ttl'", async () => {
      // add credentials after nginx has started to avoid TTL expiration
      resStatus(201, await new KongClient(cp.admin).post('/consumers/Jafar/key-auth', {body: {key: 'kong', ttl: 10}, headers: {'Content-Type': 'application/json'}}))
      const insertedAt = Date.now()
      const proxy = new KongClient(dp.proxy)
      const request = () => proxy.get('/status/200', {headers: {Host: 'key-ttl-hybrid.test', apikey: 'kong'}})

      await until('the DP authenticates the key', async () => (await request()).status === 200, {timeoutMs: 5_000})

      const elapsed = (Date.now() - insertedAt) / 1000
      await sleep(Math.max(0, ttl - elapsed) * 1000)

      await until('the DP refuses the expired key', async () => (await request()).status === 401, {timeoutMs: 5_000})
    })
  })
}
