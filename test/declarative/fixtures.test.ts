/**
 * The project's own declarative fixtures (test/fixtures/declarative), checked the way the
 * conformance corpus is (declarative-suite.ts), plus what the corpus checks by file:
 * 1.1/2.1 migration, defaults written out or not, plugin defaults filled, select tags,
 * values from the environment. These run in every clone, corpus or not.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {parse, stringify} from 'yaml'
import {fetchState} from '../../src/declarative/admin-client.js'
import {apply} from '../../src/services/apply.js'
import {fixturesDir} from '../helpers/conformance.js'
import {corpusFiles} from './corpus.js'
import {applyOpts, counts, dumpWithoutIds, fileChecks, useBed, withAdmin} from './declarative-suite.js'
import {stripDefaults} from './strip-defaults.js'

// 12-env.yaml reads these; apply and validate run in this process.
const ENV = {DECK_FIXTURE_SERVICE: 'env-service', DECK_FIXTURE_HOST: 'env-host.internal', DECK_FIXTURE_PORT: '8181', DECK_FIXTURE_PATH: '/from-env', DECK_FIXTURE_KEY: 'key-from-env'}
Object.assign(process.env, ENV)

const files = corpusFiles(fixturesDir('declarative'))
const path = (prefix: string) => files.find((f) => f.name.startsWith(prefix))!.path

describe('declarative fixtures', () => {
  const bed = useBed()

  it('cover every entity kind, nested and flat', () => {
    const kinds = new Set<string>()
    const walk = (v: unknown, key?: string) => {
      if (Array.isArray(v)) {
        if (key && !key.startsWith('_')) kinds.add(key)
        v.forEach((x) => walk(x))
      } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k)
    }
    for (const f of files) walk(parse(readFileSync(f.path, 'utf8')))
    for (const k of ['services', 'routes', 'consumers', 'plugins', 'upstreams', 'targets', 'certificates', 'snis', 'ca_certificates', 'keyauth_credentials', 'basicauth_credentials', 'acls']) {
      assert.ok(kinds.has(k), `no fixture has ${k}`)
    }
  })

  fileChecks(bed, files)

  for (const [legacy, expected] of [['07a', '07b'], ['08a', '08b']]) {
    it(`${legacy} (format ${legacy === '07a' ? '1.1' : '2.1'}) stores the paths ${expected} writes`, async () => {
      await withAdmin(bed, async (admin) => {
        await apply(applyOpts(bed, admin, path(legacy)))
        const stored = (await fetchState(admin.url)).routes.map((r) => r.paths as string[])
        const written = parse(readFileSync(path(expected), 'utf8'))
        const routes = [...(written.routes ?? []), ...(written.services ?? []).flatMap((s: any) => s.routes ?? [])]
        assert.deepEqual(stored, routes.map((r: any) => r.paths))
        assert.ok(stored.flat().some((p: string) => p.startsWith('~')), 'no regex path in the fixture')
      })
    })
  }

  it('09: the file with and without the defaults written out yields the same dump', async () => {
    const full = path('09')
    const lean = join(bed.dir, '09-lean.yaml')
    const leanData = stripDefaults(parse(readFileSync(full, 'utf8')))
    await writeFile(lean, stringify(leanData))
    assert.notEqual(stringify(leanData), stringify(parse(readFileSync(full, 'utf8'))), 'nothing was stripped')
    assert.deepEqual(await dumpWithoutIds(bed, lean), await dumpWithoutIds(bed, full))
  })

  it("10: a plugin given one setting is stored with Kong's defaults for the rest", async () => {
    await withAdmin(bed, async (admin) => {
      await apply(applyOpts(bed, admin, path('10')))
      const plugins = (await fetchState(admin.url)).plugins
      assert.deepEqual(plugins.find((p) => p.name === 'rate-limiting')!.config, {
        second: null, minute: 123, hour: null, day: null, month: null, year: null,
        limit_by: 'consumer', header_name: null, path: null, policy: 'local', fault_tolerant: true,
        redis: {host: null, port: 6379, timeout: 2000, username: null, password: null, database: 0, ssl: false, ssl_verify: false, server_name: null},
        hide_client_headers: false, error_code: 429, error_message: 'API rate limit exceeded', sync_rate: -1,
      })
      const keyAuth = plugins.find((p) => p.name === 'key-auth')!.config as Record<string, unknown>
      assert.deepEqual(keyAuth.key_names, ['apikey'])
      assert.equal(keyAuth.hide_credentials, false)
      assert.equal((plugins.find((p) => p.name === 'request-termination')!.config as Record<string, unknown>).status_code, 503)
    })
  })

  it('11: select tags manage only tagged entities; the created ones get the tag', async () => {
    await withAdmin(bed, async (admin) => {
      await apply(applyOpts(bed, admin, path('02')))
      const untagged = Object.values(await fetchState(admin.url)).flat().length
      const res = await apply(applyOpts(bed, admin, path('11')))
      assert.equal(res.result.summary.deleted, 0, 'an untagged entity was deleted')
      const state = await fetchState(admin.url)
      assert.equal(Object.values(state).flat().length, untagged + res.result.summary.created)
      for (const kind of ['services', 'routes', 'consumers', 'keyauth_credentials']) {
        const tagged = state[kind].filter((e) => (e.tags as string[] | null)?.includes('team-payments'))
        assert.equal(tagged.length, 1, `${kind}: ${JSON.stringify(state[kind])}`)
      }
      assert.deepEqual(state.services.find((s) => s.name === 'billing')!.tags ?? null, null)
      assert.equal(counts((await apply(applyOpts(bed, admin, path('11')))).result.summary), '0/0/0')
    })
  })

  it('12: values from DECK_ environment variables are what the gateway stores', async () => {
    await withAdmin(bed, async (admin) => {
      await apply(applyOpts(bed, admin, path('12')))
      const state = await fetchState(admin.url)
      const svc = state.services[0]
      assert.deepEqual([svc.name, svc.host, svc.port], [ENV.DECK_FIXTURE_SERVICE, ENV.DECK_FIXTURE_HOST, Number(ENV.DECK_FIXTURE_PORT)])
      assert.deepEqual(state.routes[0].paths, [ENV.DECK_FIXTURE_PATH])
      assert.equal(state.keyauth_credentials[0].key, ENV.DECK_FIXTURE_KEY)
    })
  })
})
