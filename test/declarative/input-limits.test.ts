/**
 * Declarative input is bounded: a file over the size limit is refused before it is read,
 * one over the entity limit right after parsing, each in well under the minute an
 * unbounded run took, naming the limit and the flag or setting that raises it. Real
 * `bin/run.js` subprocesses; the node side against a real DB-less node process and a
 * real Admin API over Postgres.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {randomUUID} from 'node:crypto'
import {findFreePort} from '../../src/kit/ports.js'
import {until} from '../helpers/until.js'
import {startTestAdmin, type TestAdmin} from '../helpers/gateway.js'
import {ROOT} from '../helpers/kctl.js'
import {killAll, type NodeProcess, spawnNode} from '../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-limits-'))
after(() => rmSync(dir, {recursive: true, force: true}))

/** Generous: an unbounded run of these inputs took minutes; a refusal takes a CLI start. */
const FAST_MS = 15_000

interface Run {
  code: number
  stdout: string
  stderr: string
  ms: number
}

function kctl(args: string[], o: {stdin?: string; env?: Record<string, string>} = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env: Record<string, string | undefined> = {...process.env, KCTL_ADMIN_URL: undefined, KCTL_MAX_FILE_SIZE: undefined, KCTL_MAX_ENTITIES: undefined, CI: 'true', NO_COLOR: '1', KCTL_DATA_DIR: join(dir, 'data'), ...o.env}
    const started = performance.now()
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], {cwd: dir, env, stdio: [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    p.stdout!.on('data', (d) => (stdout += d))
    p.stderr!.on('data', (d) => (stderr += d))
    p.on('close', (code) => resolve({code: code ?? -1, stdout, stderr, ms: performance.now() - started}))
    // A refusal may close stdin before everything is written: that is the point.
    p.stdin?.on('error', () => {})
    if (o.stdin !== undefined) p.stdin!.end(o.stdin)
  })
}

/** `n` services, one line each (~25 bytes per entity). */
const services = (n: number, from = 0) => `_format_version: "3.0"\nservices:\n${Array.from({length: n}, (_, i) => `- {name: s${from + i}, host: h}\n`).join('')}`

describe('kctl validate / apply: input limits', () => {
  it('refuses a file over the size limit before reading it, naming --max-file-size', async () => {
    // 33 MiB of real services: parsing them took ~30 s and gigabytes before the limit.
    const big = join(dir, 'big.yaml')
    const line = '- {name: svc, host: h}\n'
    writeFileSync(big, '_format_version: "3.0"\nservices:\n' + line.repeat(Math.ceil((33 * 2 ** 20) / line.length)))
    for (const cmd of [['validate', big], ['apply', big, '--admin-url', 'http://127.0.0.1:9', '--yes']]) {
      const r = await kctl(cmd)
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, /big\.yaml is 3\d(\.\d)? MiB, over the file size limit of 32 MiB \(--max-file-size\)/)
      assert.match(r.stderr, /KCTL_MAX_FILE_SIZE/)
      assert.ok(r.ms < FAST_MS, `${cmd[0]} took ${Math.round(r.ms)} ms`)
    }
  })

  it('refuses a file over the entity limit right after parsing, naming --max-entities', async () => {
    const many = join(dir, 'many.yaml')
    writeFileSync(many, services(200_001))
    const r = await kctl(['validate', many])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /many\.yaml has 200,001 entities, over the limit of 200,000 entities \(--max-entities\)/)
    assert.match(r.stderr, /KCTL_MAX_ENTITIES/)
    assert.ok(r.ms < FAST_MS, `validate took ${Math.round(r.ms)} ms`)
  })

  it('counts nested entities and the entities of every file together', async () => {
    const a = join(dir, 'nested.yaml')
    writeFileSync(a, '_format_version: "3.0"\nservices:\n- name: s\n  host: h\n  routes:\n  - name: r\n    paths: [/r]\n    plugins:\n    - name: cors\nconsumers:\n- username: u\n  keyauth_credentials:\n  - key: k\n')
    const b = join(dir, 'more.yaml')
    writeFileSync(b, services(2, 100))
    const refused = await kctl(['validate', a, b, '--max-entities', '6'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /the 2 files have 7 entities, over the limit of 6 entities/)
    const ok = await kctl(['validate', a, b, '--max-entities', '7'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /configuration is valid/)
  })

  it('the flags and their variables set the limits; a flag wins over its variable', async () => {
    const small = join(dir, 'small.yaml')
    writeFileSync(small, services(5))
    const bySize = await kctl(['validate', small], {env: {KCTL_MAX_FILE_SIZE: '100'}})
    assert.equal(bySize.code, 1)
    assert.match(bySize.stderr, /small\.yaml is \d+ bytes, over the file size limit of 100 bytes/)
    assert.equal((await kctl(['validate', small, '--max-file-size', '1KiB'], {env: {KCTL_MAX_FILE_SIZE: '100'}})).code, 0)
    const byCount = await kctl(['validate', small], {env: {KCTL_MAX_ENTITIES: '4'}})
    assert.equal(byCount.code, 1)
    assert.match(byCount.stderr, /has 5 entities, over the limit of 4 entities/)
    assert.equal((await kctl(['validate', small, '--max-entities', '5'], {env: {KCTL_MAX_ENTITIES: '4'}})).code, 0)
    const bad = await kctl(['validate', small, '--max-file-size', 'lots'])
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /Expected a size such as 64MiB/)
  })

  it('stops reading stdin at the size limit', async () => {
    const r = await kctl(['validate', '-', '--max-file-size', '64k'], {stdin: services(20_000)})
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /<stdin> is more than 64 KiB, over the file size limit of 64 KiB \(--max-file-size\)/)
    const ok = await kctl(['validate', '-'], {stdin: services(3)})
    assert.equal(ok.code, 0, ok.stderr)
  })
})

describe('node: whole-configuration requests are bounded', () => {
  let node: NodeProcess
  let admin: string
  let pg: TestPostgres
  let traditional: TestAdmin

  before(async () => {
    const [a, p, s] = [await findFreePort(), await findFreePort(), await findFreePort()]
    admin = `http://127.0.0.1:${a}`
    node = spawnNode(dir, {database: 'off', admin_listen: `127.0.0.1:${a}`, proxy_listen: `127.0.0.1:${p}`, status_listen: `127.0.0.1:${s}`, kctl_max_config_entities: 3}, {status: `http://127.0.0.1:${s}`})
    // Without a configuration it is not ready (503) until one is posted: wait for its Admin API.
    await until('the Admin API answers', async () => (await fetch(`${admin}/status`)).status, {ok: (v) => v === 200})
    pg = await startTestPostgres('limits')
    traditional = await startTestAdmin(pg)
  })
  after(async () => {
    await node?.stop()
    killAll()
    await traditional?.close()
    await pg?.stop()
  })

  const post = async (path: string, body: string, type = 'application/json') => {
    const res = await fetch(admin + path, {method: 'POST', headers: {'content-type': type}, body})
    return {status: res.status, body: await res.json()}
  }

  it('POST /config over kctl_max_config_entities gets a 413 naming the key; at it, 201', async () => {
    const four = {_format_version: '3.0', services: [{name: 'a', host: 'h', routes: [{name: 'r', paths: ['/r']}]}, {name: 'b', host: 'h'}], consumers: [{username: 'u'}]}
    const refused = await post('/config', JSON.stringify(four))
    assert.equal(refused.status, 413)
    assert.deepEqual(refused.body, {message: 'declarative configuration has 4 entities, over the limit of 3 (set kctl_max_config_entities in kong.conf to raise it)'})
    // The YAML form is counted the same way, and nothing was loaded.
    assert.equal((await post('/config', services(4), 'text/yaml')).status, 413)
    assert.deepEqual((await (await fetch(`${admin}/services`)).json()).data, [])
    four.consumers = []
    assert.equal((await post('/config', JSON.stringify(four))).status, 201)
  })

  it('POST /kctl/sync over the default limit gets a 413 before any event is validated', async () => {
    const events = Array.from({length: 200_001}, () => ({op: 'create', kind: 'services', entity: {id: randomUUID(), host: 'h'}}))
    const started = performance.now()
    const res = await traditional.call('POST', '/kctl/sync', {events})
    assert.equal(res.status, 413)
    assert.deepEqual(res.body, {message: 'declarative configuration has 200001 entities, over the limit of 200000 (set kctl_max_config_entities in kong.conf to raise it)'})
    assert.ok(performance.now() - started < FAST_MS)
    assert.equal((await traditional.call('GET', '/services')).body.data.length, 0)
  })

  it('a node refuses to start with kctl_max_config_entities below 1', async () => {
    const bad = spawnNode(dir, {database: 'off', kctl_max_config_entities: 0})
    assert.notEqual(await bad.exited, 0)
    assert.match(bad.output(), /kctl_max_config_entities must be a whole number, 1 or greater/)
  })
})
