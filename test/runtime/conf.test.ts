import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {ConfError, loadConf, parseConfText, publicConf} from '../../src/runtime/conf/load.js'
import {readTrustedCertificates} from '../../src/runtime/conf/trusted-certificates.js'
import {dnsSettings} from '../../src/runtime/conf/dns.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-conf-'))
after(() => rmSync(dir, {recursive: true, force: true}))

function confFile(text: string): string {
  const file = join(dir, `kong-${Math.random().toString(36).slice(2)}.conf`)
  writeFileSync(file, text)
  return file
}

describe('kong.conf', () => {
  test('parses key = value lines with comments and escaped #', () => {
    assert.deepEqual(parseConfText('# comment\nPG_HOST = db.local  # trailing\npg_password = a\\#b\n\nbad line\n'), {
      pg_host: 'db.local',
      pg_password: 'a#b',
    })
  })

  test('defaults are Kong’s', () => {
    const c = loadConf({env: {}})
    assert.equal(c.role, 'traditional')
    assert.equal(c.database, 'postgres')
    assert.equal(c.pg_port, 5432)
    assert.equal(c.cluster_listen, '0.0.0.0:8005')
    assert.equal(c.cluster_max_payload, 16777216)
    assert.equal(c.cluster_data_plane_purge_delay, 1209600)
    assert.equal(c.log_level, 'notice')
    assert.match(c.admin_listen, /^127\.0\.0\.1:8001/)
  })

  test('file, then KONG_* environment variables override', () => {
    const file = confFile('pg_port = 6543\npg_user = fromfile\npg_ssl = on\n')
    const c = loadConf({file, env: {KONG_PG_USER: 'fromenv'}})
    assert.equal(c.pg_port, 6543)
    assert.equal(c.pg_user, 'fromenv')
    assert.equal(c.pg_ssl, true)
  })

  test('unknown keys in the file are ignored and reported, with the nearest known key', () => {
    const seen: Array<[string, string | undefined]> = []
    const conf = loadConf({file: confFile('log_levle = debug\nnot_a_kong_key_at_all = 1\n'), env: {}, onUnknownKey: (k, near) => seen.push([k, near])})
    assert.equal(conf.log_level, 'notice')
    assert.deepEqual(seen, [['log_levle', 'log_level'], ['not_a_kong_key_at_all', undefined]])
  })

  test('bad values and Kong’s refused combinations', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{KONG_ROLE: 'control_plane'}, 'cluster certificate and key must be provided to use Hybrid mode'],
      [{KONG_ROLE: 'control_plane', KONG_DATABASE: 'off', KONG_CLUSTER_CERT: 'c', KONG_CLUSTER_CERT_KEY: 'k'}, 'in-memory storage can not be used when role = "control_plane"'],
      [{KONG_ROLE: 'data_plane', KONG_CLUSTER_CERT: 'c', KONG_CLUSTER_CERT_KEY: 'k'}, 'only in-memory storage can be used when role = "data_plane"'],
      [{KONG_PG_PORT: 'abc'}, "pg_port is not a number: 'abc'"],
      [{KONG_ROLE: 'leader'}, "role has an invalid value: 'leader' (traditional, control_plane, data_plane)"],
      [{KONG_UPSTREAM_KEEPALIVE_POOL_SIZE: '-1'}, 'upstream_keepalive_pool_size must be 0 or greater'],
      [{KONG_HEADERS: 'server_tokens,Foo-Bar'}, "headers: invalid entry 'Foo-Bar'"],
      [{KONG_HEADERS_UPSTREAM: 'Via'}, "headers_upstream: invalid entry 'Via'"],
      [{KONG_TRUSTED_IPS: '10.0.0.0/8,lb.internal'}, "trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or CIDR block or 'unix:', got 'lb.internal'"],
      [{KONG_UPSTREAM_KEEPALIVE_MAX_REQUESTS: '-1'}, 'upstream_keepalive_max_requests must be 0 or greater'],
      [{KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT: '-1'}, 'upstream_keepalive_idle_timeout must be 0 or greater'],
      [{KONG_ADMIN_GUI_URL: 'http://admin.test:8002, admin.test'}, "admin_gui_url has an invalid value: 'admin.test' (a URL with scheme and host, such as http://admin.example.com:8002)"],
    ]
    for (const [env, message] of cases) {
      assert.throws(() => loadConf({env}), (err: unknown) => err instanceof ConfError && err.errors.includes(message), message)
    }
  })

  test("lua_ssl_trusted_certificate: Kong's default `system`, PEM files, and a file that cannot be read or holds no certificate stops the node", () => {
    assert.deepEqual(loadConf({env: {}}).lua_ssl_trusted_certificate, ['system'])
    assert.ok(readTrustedCertificates(loadConf({env: {}})).length > 10, "the system's roots")
    const ca = confFile('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n')
    assert.deepEqual(readTrustedCertificates(loadConf({env: {KONG_LUA_SSL_TRUSTED_CERTIFICATE: ca}})), ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----'])
    const empty = confFile('not a certificate\n')
    const missing = join(dir, 'nowhere.crt')
    assert.throws(
      () => loadConf({env: {KONG_LUA_SSL_TRUSTED_CERTIFICATE: `system,${missing},${empty}`}}),
      (err: unknown) =>
        err instanceof ConfError &&
        err.errors.includes(`lua_ssl_trusted_certificate: cannot read '${missing}' (ENOENT); give PEM files of CA certificates, or 'system'`) &&
        err.errors.includes(`lua_ssl_trusted_certificate: '${empty}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`),
    )
  })

  test("dns_*: Kong's defaults, the hosts file read at start, nameservers as ip[:port], Kong's messages for bad values", () => {
    const d = loadConf({env: {}})
    assert.deepEqual([d.dns_hostsfile, d.dns_resolver, d.dns_valid_ttl, d.dns_not_found_ttl, d.dns_error_ttl], ['/etc/hosts', [], null, 30, 1])
    const hosts = confFile('# a comment\n127.0.0.1  localhost Custom_Localhost  # trailing\n::1 localhost\n10.0.0.1 custom_localhost\nnot-an-ip name\n')
    const s = dnsSettings(loadConf({env: {KONG_DNS_HOSTSFILE: hosts, KONG_DNS_RESOLVER: '127.0.0.1:5353,10.0.0.2,[::1]:53,::1', KONG_DNS_VALID_TTL: '5'}}))
    // the first address per family wins, names are case-insensitive
    assert.deepEqual(s.hosts.get('custom_localhost'), [{address: '127.0.0.1', family: 4}])
    assert.deepEqual(s.hosts.get('localhost'), [{address: '127.0.0.1', family: 4}, {address: '::1', family: 6}])
    assert.equal(s.hosts.get('name'), undefined)
    assert.deepEqual(s.servers, ['127.0.0.1:5353', '10.0.0.2', '[::1]:53', '::1'])
    assert.equal(s.validTtl, 5)
    const missing = join(dir, 'no-hosts')
    assert.throws(
      () => loadConf({env: {KONG_DNS_HOSTSFILE: missing, KONG_DNS_RESOLVER: '127.0.0.1:99999,dns.example,1.2.3.4:53', KONG_DNS_ERROR_TTL: '-1'}}),
      (err: unknown) =>
        err instanceof ConfError &&
        err.errors.includes('dns_hostsfile: file does not exist') &&
        err.errors.includes("dns_resolver must be a comma separated list in the form of IPv4/6 or IPv4/6:port, got '127.0.0.1:99999'") &&
        err.errors.includes("dns_resolver must be a comma separated list in the form of IPv4/6 or IPv4/6:port, got 'dns.example'") &&
        err.errors.includes('dns_error_ttl must be a number of seconds, 0 or more; got -1') &&
        err.errors.length === 4,
    )
    // a value that is no number is said once
    assert.throws(
      () => loadConf({env: {KONG_DNS_STALE_TTL: 'abc'}}),
      (err: unknown) => err instanceof ConfError && err.errors.length === 1 && err.errors[0] === "dns_stale_ttl is not a number: 'abc'",
    )
  })

  test("upstream keepalive settings: Kong's defaults (512, 10000, 60), 0 accepted", () => {
    const d = loadConf({env: {}})
    assert.deepEqual([d.upstream_keepalive_pool_size, d.upstream_keepalive_max_requests, d.upstream_keepalive_idle_timeout], [512, 10000, 60])
    const z = loadConf({env: {KONG_UPSTREAM_KEEPALIVE_POOL_SIZE: '0', KONG_UPSTREAM_KEEPALIVE_MAX_REQUESTS: '0', KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT: '0'}})
    assert.deepEqual([z.upstream_keepalive_pool_size, z.upstream_keepalive_max_requests, z.upstream_keepalive_idle_timeout], [0, 0, 0])
  })

  test('the public view masks secrets', () => {
    const c = loadConf({env: {KONG_PG_PASSWORD: 'hunter2'}})
    const pub = publicConf(c)
    assert.equal(pub.pg_password, '******')
    assert.ok(!JSON.stringify(pub).includes('hunter2'))
  })
})
