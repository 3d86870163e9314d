/**
 * The declarative commands as a user runs them: real `bin/run.js` subprocesses (no TTY,
 * CI set) against a real Admin API over a real Postgres. Invalid files exit 1 with
 * every problem located, and change nothing.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {adminBed, startTestAdmin, type TestAdmin} from '../helpers/gateway.js'
import {ROOT} from '../helpers/kctl.js'
import type {TestPostgres} from '../helpers/postgres.js'

let pg: TestPostgres
let admin: TestAdmin
let dir: string
adminBed('kctl-decl-cli-', (bed) => void ({pg, api: admin, dir} = bed))

function kctl(...args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return kctlIn(join(dir, 'data'), ...args)
}

/** kctl with its own state directory: another user, who never applied to this gateway. */
function kctlIn(dataDir: string, ...args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return run(args, {dataDir})
}

const ENV = {DECK_SVC_HOST: 'secret-host.example', DECK_USER: 'carol-from-env', DECK_RETRIES: '9'}

/** The CLI with `stdin` piped in (else none) and extra environment variables. */
function run(args: string[], o: {dataDir?: string; stdin?: string; env?: Record<string, string>} = {}): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const env: Record<string, string | undefined> = {...process.env, KCTL_ADMIN_URL: undefined, CI: 'true', NO_COLOR: '1', KCTL_DATA_DIR: o.dataDir ?? join(dir, 'data'), ...ENV, ...o.env}
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], {cwd: dir, env, stdio: [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    p.stdout!.on('data', (d) => (stdout += d))
    p.stderr!.on('data', (d) => (stderr += d))
    p.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
    if (o.stdin !== undefined) p.stdin!.end(o.stdin)
  })
}

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name)
  await writeFile(p, text)
  return p
}

const base = `_format_version: "3.0"
services:
- name: svc1
  host: \${{ env "DECK_SVC_HOST" }}
  routes:
  - name: r1
    paths: [/r1]
consumers:
- username: alice
`


describe('kctl validate / diff / apply / dump / reset', () => {
  it('apply creates parents first and prints a decK-style summary; the env value is substituted', async () => {
    const f = await file('base.yaml', base)
    const diff = await kctl('diff', f, '--admin-url', admin.url, '--non-zero-exit-code')
    assert.equal(diff.code, 2, diff.stderr)
    assert.match(diff.stdout, /creating service svc1\ncreating route r1\ncreating consumer alice\nSummary:\n {2}Created: 3 {2}Updated: 0 {2}Deleted: 0/)
    const res = await kctl('apply', f, '--admin-url', admin.url)
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /Created: 3 {2}Updated: 0 {2}Deleted: 0/)
    assert.equal((await admin.call('GET', '/services/svc1')).body.host, 'secret-host.example')
    const again = await kctl('apply', f, '--admin-url', admin.url)
    assert.match(again.stdout, /Created: 0 {2}Updated: 0 {2}Deleted: 0/)
    assert.equal((await kctl('diff', f, '--admin-url', admin.url, '--non-zero-exit-code')).code, 0)
  })

  it('update shows a field-level diff; --json gives the changes as data', async () => {
    const f = await file('upd.yaml', base.replace('paths: [/r1]', 'paths: [/r1, /r2]').replace('name: svc1\n', 'name: svc1\n  retries: 3\n'))
    const out = await kctl('apply', f, '--admin-url', admin.url, '--dry-run', '--json')
    assert.equal(out.code, 0, out.stderr)
    const json = JSON.parse(out.stdout)
    assert.deepEqual(json.summary, {created: 0, updated: 2, deleted: 0})
    assert.equal(json.applied, false)
    assert.deepEqual(json.changes.map((c: any) => `${c.op} ${c.kind} ${c.name}`), ['update services svc1', 'update routes r1'])
    const text = await kctl('diff', f, '--admin-url', admin.url)
    assert.match(text.stdout, /updating service svc1\n {2}- retries: 5\n {2}\+ retries: 3\nupdating route r1\n {2}- paths: \["\/r1"\]\n {2}\+ paths: \["\/r1","\/r2"\]/)
  })

  it('a first apply that deletes needs --yes without a TTY; later ones do not; children are deleted first', async () => {
    const f = await file('fewer.yaml', '_format_version: "3.0"\nconsumers:\n- username: alice\n')
    const refused = await kctlIn(join(dir, 'data-other-user'), 'apply', f, '--admin-url', admin.url)
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /--yes/)
    assert.equal((await admin.call('GET', '/routes')).body.data.length, 1, 'refused apply changed the gateway')
    // This user applied to this gateway before (first test): no question this time.
    const ok = await kctl('apply', f, '--admin-url', admin.url)
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /deleting route r1\ndeleting service svc1\nSummary:\n {2}Created: 0 {2}Updated: 0 {2}Deleted: 2/)
  })

  it('invalid files exit 1 listing every problem with file, path and line, and change nothing', async () => {
    const f = await file('bad.yaml', `_format_version: "3.0"
services:
- name: svc1
  host: example.com
  colour: blue
- name: svc1
  host: example.org
routes:
- name: r9
  paths: [/x]
  service: nope
`)
    const before = JSON.stringify((await admin.call('GET', '/consumers')).body.data)
    for (const cmd of ['validate', 'apply']) {
      const res = cmd === 'validate' ? await kctl(cmd, f) : await kctl(cmd, f, '--admin-url', admin.url, '--yes')
      assert.equal(res.code, 1, `${cmd}: ${res.stdout}`)
      assert.match(res.stderr, /bad\.yaml:5: services\[0\]: colour: unknown field/)
      assert.match(res.stderr, /bad\.yaml:6: services\[1\]: uniqueness violation: 'services' entity with name set to 'svc1' already declared at services\[0\]/)
      assert.match(res.stderr, /bad\.yaml:11: routes\[0\]: service: references a service with name 'nope' that is not in the configuration/)
    }
    assert.equal(JSON.stringify((await admin.call('GET', '/consumers')).body.data), before)
    assert.equal((await admin.call('GET', '/services')).body.data.length, 0)
  })

  it('malformed YAML exits 1 naming the line', async () => {
    const f = await file('broken.yaml', '_format_version: "3.0"\nservices:\n- name: a\n  host: [unclosed\n')
    const res = await kctl('validate', f)
    assert.equal(res.code, 1)
    assert.match(res.stderr, /broken\.yaml:\d+: \$: malformed file/)
  })

  it('dump -o writes a file that applies back as a no-op; reset --yes removes everything', async () => {
    const out = join(dir, 'dump.yaml')
    assert.equal((await kctl('dump', '-o', out, '--admin-url', admin.url)).code, 0)
    assert.match((await kctl('diff', out, '--admin-url', admin.url)).stdout, /Created: 0 {2}Updated: 0 {2}Deleted: 0/)
    assert.equal((await kctl('reset', '--admin-url', admin.url)).code, 1)
    const res = await kctl('reset', '--yes', '--admin-url', admin.url)
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /deleting consumer alice\nSummary:\n {2}Created: 0 {2}Updated: 0 {2}Deleted: 1/)
    assert.equal((await admin.call('GET', '/consumers')).body.data.length, 0)
  })

  it('an unreachable Admin API exits 1 with what to try next', async () => {
    const res = await kctl('dump', '--admin-url', 'http://127.0.0.1:9')
    assert.equal(res.code, 1)
    assert.match(res.stderr, /Can't reach the Admin API at http:\/\/127\.0\.0\.1:9/)
  })
})

describe('values from DECK_ environment variables', () => {
  it('are masked as [masked] in headings, field lines, --json and error messages', async () => {
    const envFile = (host: string, retries: string) => `_format_version: "3.0"
services:
- name: svc-env
  host: ${host}
  retries: ${retries}
consumers:
- username: \${{ env "DECK_USER" }}
`
    const first = await file('env-1.yaml', envFile('plain.example', '5'))
    const text = await kctl('diff', first, '--admin-url', admin.url)
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^creating consumer \[masked\]$/m)
    const json = await kctl('diff', first, '--admin-url', admin.url, '--json')
    assert.deepEqual(JSON.parse(json.stdout).changes.map((c: any) => c.name), ['svc-env', '[masked]'])
    assert.equal((await kctl('apply', first, '--admin-url', admin.url)).code, 0)
    assert.equal((await admin.call('GET', '/consumers/carol-from-env')).status, 200)

    const second = await file('env-2.yaml', envFile('\${{ env "DECK_SVC_HOST" }}', '\${{ env "DECK_RETRIES" }}'))
    const upd = await kctl('diff', second, '--admin-url', admin.url)
    assert.match(upd.stdout, /updating service svc-env\n {2}- retries: 5\n {2}\+ retries: \[masked\]\n {2}- host: "plain\.example"\n {2}\+ host: "\[masked\]"/)
    const updJson = JSON.parse((await kctl('apply', second, '--admin-url', admin.url, '--json')).stdout)
    assert.equal(updJson.applied, true)
    assert.deepEqual(updJson.changes[0].fields, [
      {field: 'retries', old: 5, new: '[masked]'},
      {field: 'host', old: 'plain.example', new: '[masked]'},
    ])
    assert.equal((await admin.call('GET', '/services/svc-env')).body.host, 'secret-host.example')

    const bad = await file('env-bad.yaml', '_format_version: "3.0"\nroutes:\n- name: r-env\n  paths: [/e]\n  service: \${{ env "DECK_USER" }}\n')
    const err = await kctl('apply', bad, '--admin-url', admin.url)
    assert.equal(err.code, 1)
    assert.match(err.stderr, /references a service with name '\[masked\]'/)

    for (const out of [text, json, upd, err]) for (const v of [ENV.DECK_SVC_HOST, ENV.DECK_USER]) assert.ok(!(out.stdout + out.stderr).includes(v), `${v} shown in:\n${out.stdout}${out.stderr}`)
    assert.equal((await kctl('reset', '--yes', '--admin-url', admin.url)).code, 0)
  })
})

/** One run of the CLI: files written first, `$ADMIN` replaced by the Admin API's URL. */
interface Case {
  name: string
  files?: Record<string, string>
  args: string[]
  stdin?: string
  env?: Record<string, string>
  code: number
  stdout?: RegExp
  stderr?: RegExp
  /** Checks on the gateway afterwards. */
  then?: () => Promise<void>
}

const svcYaml = (name: string, version = '3.0') => `_format_version: "${version}"\nservices:\n- name: ${name}\n  host: ${name}.example\n`

const formatCases = (): Case[] => [
  {
    name: 'an unset DECK_ variable is an error',
    files: {'unset.yaml': '_format_version: "3.0"\nservices:\n- name: u\n  host: ${{ env "DECK_NOT_SET" }}\n'},
    args: ['validate', 'unset.yaml'],
    code: 1,
    stderr: /unset\.yaml: \$: environment variable 'DECK_NOT_SET' is not set/,
  },
  {
    name: 'a variable without the DECK_ prefix is an error, even when set',
    files: {'home.yaml': '_format_version: "3.0"\nservices:\n- name: h\n  host: ${{ env "HOME" }}\n'},
    args: ['validate', 'home.yaml'],
    code: 1,
    stderr: /environment variable 'HOME' cannot be used: only names starting with DECK_ are read/,
  },
  {
    name: '- reads the file from stdin',
    args: ['apply', '-', '--admin-url', '$ADMIN', '--yes'],
    stdin: svcYaml('from-stdin'),
    code: 0,
    stdout: /creating service from-stdin\n/,
    then: async () => assert.equal((await admin.call('GET', '/services/from-stdin')).status, 200),
  },
  {
    name: 'several files are merged, references crossing them',
    files: {'m-svc.yaml': svcYaml('merged'), 'm-route.yaml': '_format_version: "3.0"\nroutes:\n- name: merged-r\n  paths: [/m]\n  service: merged\n'},
    args: ['diff', 'm-svc.yaml', 'm-route.yaml', '-', '--admin-url', '$ADMIN'],
    stdin: svcYaml('from-stdin'),
    code: 0,
    stdout: /^creating service merged\ncreating route merged-r\nSummary:\n {2}Created: 2 {2}Updated: 0 {2}Deleted: 0\n$/,
  },
  {
    name: 'a JSON file',
    files: {'j.json': JSON.stringify({_format_version: '3.0', services: [{name: 'j', host: 'j.example', routes: [{name: 'jr', paths: ['/j']}]}]})},
    args: ['validate', 'j.json'],
    code: 0,
    stdout: /configuration is valid \(1 services, 1 routes\)/,
  },
  {
    name: '_format_version "2.1" is migrated (regex paths get ~) with a warning',
    files: {'legacy.yaml': svcYaml('legacy', '2.1') + "  routes:\n  - name: legacy-r\n    paths: [/plain, '/v\\d+/x']\n"},
    args: ['apply', 'legacy.yaml', '--admin-url', '$ADMIN', '--select-tag', 'legacy'],
    code: 0,
    stderr: /legacy\.yaml: _format_version 2\.1 is deprecated; read as 3\.0 \(regex paths get a '~' prefix\)/,
    then: async () => assert.deepEqual((await admin.call('GET', '/routes/legacy-r')).body.paths, ['/plain', '~/v\\d+/x']),
  },
  {
    name: '_comment and _ignore are accepted at the top and on entities, and not stored',
    files: {
      'comments.yaml':
        '_format_version: "3.0"\n_comment: whole file\n_ignore: [{anything: 1}]\nservices:\n- name: commented\n  host: c.example\n  _comment: a service\n  _ignore: [x]\n  routes:\n  - name: commented-r\n    paths: [/c]\n    _comment: a route\n',
    },
    args: ['apply', 'comments.yaml', '--admin-url', '$ADMIN', '--select-tag', 'comments'],
    code: 0,
    stdout: /Created: 2 {2}Updated: 0 {2}Deleted: 0/,
    then: async () => {
      const svc = (await admin.call('GET', '/services/commented')).body
      assert.equal(svc._comment, undefined)
      assert.equal(svc._ignore, undefined)
    },
  },
  {
    name: 'a _comment that is not a string is an error',
    files: {'bad-comment.yaml': '_format_version: "3.0"\nservices:\n- name: b\n  host: b.example\n  _comment: [1]\n'},
    args: ['validate', 'bad-comment.yaml'],
    code: 1,
    stderr: /bad-comment\.yaml:3: services\[0\]: _comment: expected a string/,
  },
  {
    name: 'KCTL_ADMIN_URL instead of --admin-url',
    files: {'env-url.yaml': svcYaml('env-url')},
    args: ['diff', 'env-url.yaml'],
    env: {KCTL_ADMIN_URL: '$ADMIN'},
    code: 0,
    // It read the gateway: what the file lacks would be deleted.
    stdout: /^deleting service from-stdin$[\s\S]*^creating service env-url$/m,
  },
  {
    name: 'apply of a malformed YAML file exits 1 and changes nothing',
    files: {'malformed.yaml': '_format_version: "3.0"\nservices: []\nconsumers:\n- username: x\n  tags: [unclosed\n'},
    args: ['apply', 'malformed.yaml', '--admin-url', '$ADMIN', '--yes'],
    code: 1,
    stderr: /malformed\.yaml:\d+: \$: malformed file/,
    then: async () => assert.equal((await admin.call('GET', '/services/from-stdin')).status, 200),
  },
]

describe('file format and targets', () => {
  for (const c of formatCases()) {
    it(c.name, async () => {
      for (const [name, text] of Object.entries(c.files ?? {})) await file(name, text)
      const sub = (v: string) => v.replace('$ADMIN', admin.url)
      const before = c.code === 0 ? undefined : (await kctl('dump', '--admin-url', admin.url)).stdout
      const res = await run(c.args.map(sub), {stdin: c.stdin, env: Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, sub(v)]))})
      assert.equal(res.code, c.code, res.stdout + res.stderr)
      if (c.stdout) assert.match(res.stdout, c.stdout)
      if (c.stderr) assert.match(res.stderr, c.stderr)
      // A failed run changes nothing on the gateway.
      if (before !== undefined) assert.equal((await kctl('dump', '--admin-url', admin.url)).stdout, before)
      await c.then?.()
    })
  }
})

/**
 * An Admin API as Kong serves it: kctl's node behind a proxy that answers 404 at the
 * credential tables' names (`/keyauth_credentials`), where Kong has no route. Records
 * the paths asked for.
 */
async function kongLike(target: string): Promise<{url: string; paths: string[]; close(): Promise<void>}> {
  const paths: string[] = []
  const server = createServer(async (req, res) => {
    paths.push(req.url!)
    if (/^\/(keyauth|basicauth)_credentials/.test(req.url!)) {
      res.writeHead(404, {'content-type': 'application/json'}).end('{"message":"Not found"}')
      return
    }
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = chunks.length ? Buffer.concat(chunks) : undefined
    const up = await fetch(target + req.url, {method: req.method, headers: {'content-type': req.headers['content-type'] ?? 'application/json'}, body})
    res.writeHead(up.status, {'content-type': up.headers.get('content-type') ?? 'application/json'}).end(Buffer.from(await up.arrayBuffer()))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths, close: () => new Promise<void>((r) => server.close(() => r()))}
}

describe('a gateway read through Kong\'s URL names', () => {
  it('dump and diff read credentials at /key-auths, /basic-auths and /acls, as Kong serves them', async () => {
    assert.equal((await kctl('reset', '--yes', '--admin-url', admin.url)).code, 0)
    const f = await file('creds.yaml', '_format_version: "3.0"\nconsumers:\n- username: dave\n  keyauth_credentials:\n  - key: dave-key\n  basicauth_credentials:\n  - username: dave\n    password: pw\n  acls:\n  - group: g1\n')
    assert.equal((await kctl('apply', f, '--admin-url', admin.url)).code, 0)
    const kong = await kongLike(admin.url)
    try {
      const dump = await kctl('dump', '--admin-url', kong.url)
      assert.equal(dump.code, 0, dump.stderr)
      assert.match(dump.stdout, /keyauth_credentials:\n\s+- id: \S+\n\s+key: dave-key/)
      assert.match(dump.stdout, /basicauth_credentials:\n\s+- id: \S+\n\s+username: dave/)
      assert.match(dump.stdout, /acls:\n\s+- id: \S+\n\s+group: g1/)
      const diff = await kctl('diff', f, '--admin-url', kong.url, '--non-zero-exit-code')
      assert.equal(diff.code, 0, diff.stdout + diff.stderr)
      const read = new Set(kong.paths.map((p) => p.split('?')[0]))
      for (const p of ['/key-auths', '/basic-auths', '/acls']) assert.ok(read.has(p), `${p} not read: ${[...read]}`)
      assert.ok(![...read].some((p) => p.includes('_credentials')), [...read].join(' '))
    } finally {
      await kong.close()
    }
  })
})

describe('files that would empty a gateway', () => {
  /** A gateway of its own with four services, applied once by this user. */
  async function gatewayWithFourServices(): Promise<TestAdmin> {
    const own = await startTestAdmin(pg)
    const four = await file('four.yaml', '_format_version: "3.0"\nservices:\n' + ['a', 'b', 'c', 'd'].map((n) => `- name: ${n}\n  host: ${n}.example\n`).join(''))
    const res = await kctl('apply', four, '--admin-url', own.url)
    assert.equal(res.code, 0, res.stderr)
    return own
  }
  const serviceCount = async (a: TestAdmin) => (await a.call('GET', '/services')).body.data.length

  it('an empty file, or one without _format_version, is refused by validate, diff and apply, naming the file', async (t) => {
    const own = await gatewayWithFourServices()
    t.after(() => own.close())
    const empty = await file('empty.yaml', '')
    const unversioned = await file('unversioned.yaml', 'services:\n- name: a\n  host: a.example\n')
    for (const [f, name] of [[empty, 'empty\\.yaml'], [unversioned, 'unversioned\\.yaml']]) {
      for (const args of [['validate', f], ['diff', f, '--admin-url', own.url], ['apply', f, '--admin-url', own.url, '--yes'], ['apply', f, '--admin-url', own.url, '--yes', '--allow-empty']]) {
        const res = await kctl(...args)
        assert.equal(res.code, 1, `${args.join(' ')}: ${res.stdout}`)
        assert.match(res.stderr, new RegExp(`${name}: _format_version: required field missing: add _format_version: "3\\.0" at the top of \\S*${name}`), args.join(' '))
      }
    }
    assert.equal(await serviceCount(own), 4)
  })

  it('files with no entities: diff and apply refuse without --allow-empty (or KCTL_ALLOW_EMPTY), saying how to proceed', async (t) => {
    const own = await gatewayWithFourServices()
    t.after(() => own.close())
    const bare = await file('bare.yaml', '_format_version: "3.0"\nservices: []\n')
    const valid = await kctl('validate', bare)
    assert.equal(valid.code, 0, valid.stderr)
    assert.match(valid.stderr, /no entities in \S*bare\.yaml: `kctl apply` refuses such files unless --allow-empty/)
    for (const args of [['diff', bare], ['apply', bare, '--yes'], ['apply', bare, '--yes', '--dry-run']]) {
      const res = await kctl(...args, '--admin-url', own.url)
      assert.equal(res.code, 1, `${args.join(' ')}: ${res.stdout}`)
      assert.match(res.stderr, /bare\.yaml holds no entities \(no services, routes, consumers, plugins, …\): applying it would delete every entity on the gateway\./)
      assert.match(res.stderr, /To empty the gateway on purpose, run `kctl reset`, or pass --allow-empty\./)
    }
    const tagged = await kctl('apply', bare, '--select-tag', 'team-x', '--admin-url', own.url, '--yes')
    assert.match(tagged.stderr, /would delete every entity tagged team-x on the gateway[\s\S]*`kctl reset --select-tag team-x`/)
    assert.equal(await serviceCount(own), 4, 'a refused file changed the gateway')

    const planned = await kctl('diff', bare, '--admin-url', own.url, '--allow-empty')
    assert.equal(planned.code, 0, planned.stderr)
    assert.match(planned.stdout, /Deleted: 4\nThis deletes 4 of 4 entities \(100%\) on the gateway\.\n$/)
    const emptied = await run(['apply', bare, '--admin-url', own.url, '--yes'], {env: {KCTL_ALLOW_EMPTY: '1'}})
    assert.equal(emptied.code, 0, emptied.stderr)
    assert.match(emptied.stdout, /Deleted: 4\nThis deleted 4 of 4 entities \(100%\) on the gateway\.\n$/)
    assert.equal(await serviceCount(own), 0)
  })

  it('deleting more than half of the gateway is stated in diff, --dry-run, --json and the first apply\'s question', async (t) => {
    const own = await gatewayWithFourServices()
    t.after(() => own.close())
    const one = await file('one.yaml', '_format_version: "3.0"\nservices:\n- name: a\n  host: a.example\n')
    const line = /^This deletes 3 of 4 entities \(75%\) on the gateway\.$/m
    for (const args of [['diff', one], ['apply', one, '--dry-run']]) {
      const res = await kctl(...args, '--admin-url', own.url)
      assert.equal(res.code, 0, res.stderr)
      assert.match(res.stdout, /Deleted: 3\n/)
      assert.match(res.stdout, line, args.join(' '))
    }
    const json = JSON.parse((await kctl('diff', one, '--admin-url', own.url, '--json')).stdout)
    assert.deepEqual(json.mass_delete, {deleted: 3, total: 4, percent: 75})
    // Another user's first apply to this gateway asks; without a terminal the refusal quotes the question.
    const asked = await kctlIn(join(dir, 'data-mass-delete'), 'apply', one, '--admin-url', own.url)
    assert.equal(asked.code, 1)
    assert.match(asked.stderr, /First apply to http:\/\/127\.0\.0\.1:\d+: This deletes 3 of 4 entities \(75%\) on the gateway\. Delete 3 entities not in the files\?/)
    assert.match(asked.stderr, /--yes/)
    assert.equal(await serviceCount(own), 4)

    // Half or less: no such line, and null in JSON.
    const three = await file('three.yaml', '_format_version: "3.0"\nservices:\n' + ['a', 'b', 'c'].map((n) => `- name: ${n}\n  host: ${n}.example\n`).join(''))
    const some = await kctl('diff', three, '--admin-url', own.url)
    assert.match(some.stdout, /Deleted: 1\n$/)
    assert.doesNotMatch(some.stdout, /This deletes/)
    assert.equal(JSON.parse((await kctl('diff', three, '--admin-url', own.url, '--json')).stdout).mass_delete, null)
  })
})
