import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import {readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {before, describe, test} from 'node:test'
import {fingerprintSha256, inspectCertificate} from '../../src/pki/index.js'
import {runKctl} from '../helpers/kctl.js'
import {ensureOpenssl, openssl, tempDir, x509Text} from './helpers.js'

before(ensureOpenssl)

const mode = async (path: string) => (await stat(path)).mode & 0o777

describe('kctl gen-cert', () => {
  test('writes ./cluster.crt (0644) and ./cluster.key (0600) as kong hybrid gen_cert does', async (t) => {
    const cwd = await tempDir(t)
    const r = await runKctl(['gen-cert'], {cwd})
    assert.equal(r.code, 0, r.stderr)
    const cert = join(cwd, 'cluster.crt')
    const key = join(cwd, 'cluster.key')
    assert.match(r.stdout, new RegExp(`${cert}.*${key}.*\\d{4}-\\d\\d-\\d\\dT`))
    assert.equal(await mode(cert), 0o644)
    assert.equal(await mode(key), 0o600)
    const text = x509Text(cert)
    assert.match(text, /Subject: CN\s?=\s?kong_clustering/)
    assert.match(text, /Issuer: CN\s?=\s?kong_clustering/)
    assert.match(text, /Public-Key: \(384 bit\)[\s\S]*NIST CURVE: P-384/)
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA384/)
    assert.match(openssl('pkey', '-in', key, '-noout', '-text'), /Private-Key: \(384 bit\)/)
    const x = new X509Certificate(await readFile(cert))
    assert.equal(Date.parse(x.validTo) - Date.parse(x.validFrom), 1095 * 86_400_000)
  })

  test('--days, --cert/--key and --json: exactly {cert, key, expires_at, fingerprint_sha256}', async (t) => {
    const cwd = await tempDir(t)
    const r = await runKctl(['gen-cert', '--days', '30', '--cert', 'tls/a.crt', '--key', 'tls/a.key', '--json'], {cwd})
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.deepEqual(Object.keys(out).sort(), ['cert', 'expires_at', 'fingerprint_sha256', 'key'])
    assert.equal(out.cert, join(cwd, 'tls', 'a.crt'))
    assert.equal(out.key, join(cwd, 'tls', 'a.key'))
    const pem = await readFile(out.cert, 'utf8')
    const info = inspectCertificate(pem)
    assert.equal(out.expires_at, info.notAfter)
    assert.match(out.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.equal(Date.parse(info.notAfter) - Date.parse(info.notBefore), 30 * 86_400_000)
    assert.equal(out.fingerprint_sha256, fingerprintSha256(pem))
    assert.equal(await mode(out.key), 0o600)
  })

  test('flags also come from KCTL_* variables', async (t) => {
    const cwd = await tempDir(t)
    const r = await runKctl(['gen-cert', '--json'], {cwd, env: {KCTL_DAYS: '7', KCTL_CERT: 'e.crt', KCTL_KEY: 'e.key'}})
    assert.equal(r.code, 0, r.stderr)
    const info = inspectCertificate(await readFile(join(cwd, 'e.crt'), 'utf8'))
    assert.equal(Date.parse(info.notAfter) - Date.parse(info.notBefore), 7 * 86_400_000)
  })

  test('refuses to overwrite an existing file (exit 1, names it and --force); --force replaces', async (t) => {
    const cwd = await tempDir(t)
    await writeFile(join(cwd, 'cluster.key'), 'MINE')
    const r = await runKctl(['gen-cert'], {cwd})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /cluster\.key already exists/)
    assert.match(r.stderr, /--force/)
    assert.equal(await readFile(join(cwd, 'cluster.key'), 'utf8'), 'MINE')
    await assert.rejects(stat(join(cwd, 'cluster.crt')), 'nothing written')

    const json = await runKctl(['gen-cert', '--json'], {cwd})
    assert.equal(json.code, 1)
    assert.equal(JSON.parse(json.stdout).error.code, 'CERT_FILE_EXISTS')

    const forced = await runKctl(['gen-cert', '--force'], {cwd})
    assert.equal(forced.code, 0, forced.stderr)
    assert.match(await readFile(join(cwd, 'cluster.key'), 'utf8'), /BEGIN PRIVATE KEY/)
    assert.equal(await mode(join(cwd, 'cluster.key')), 0o600)
  })

  test('--cert without --key, or --key without --cert: usage error, exit 2', async (t) => {
    const cwd = await tempDir(t)
    for (const args of [['--cert', 'a.crt'], ['--key', 'a.key']]) {
      const r = await runKctl(['gen-cert', ...args], {cwd})
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /--cert and --key go together/)
    }
    const bad = await runKctl(['gen-cert', '--days', '0'], {cwd})
    assert.equal(bad.code, 2)
  })

  test('--mtls pki: a CA and per-node certificates under --out, chains verify, EKUs and SANs', async (t) => {
    const cwd = await tempDir(t)
    const r = await runKctl(['gen-cert', '--mtls', 'pki', '--out', 'pki', '--nodes', 'cp-1:cp,dp-1:dp', '--san', 'gw.example.com,10.1.2.3', '--days', '90', '--json'], {cwd})
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    const dir = join(cwd, 'pki')
    assert.deepEqual(Object.keys(out).sort(), ['ca', 'nodes'])
    assert.equal(out.ca.cert, join(dir, 'ca.crt'))
    assert.deepEqual(out.nodes.map((n: {name: string; role: string}) => [n.name, n.role]), [['cp-1', 'control_plane'], ['dp-1', 'data_plane']])
    for (const name of ['ca', 'cp-1', 'dp-1']) {
      assert.equal(await mode(join(dir, `${name}.crt`)), 0o644)
      assert.equal(await mode(join(dir, `${name}.key`)), 0o600)
    }
    const ca = join(dir, 'ca.crt')
    assert.match(openssl('verify', '-CAfile', ca, '-purpose', 'sslserver', join(dir, 'cp-1.crt')), /OK/)
    assert.match(openssl('verify', '-CAfile', ca, '-purpose', 'sslclient', join(dir, 'dp-1.crt')), /OK/)
    const cp = x509Text(join(dir, 'cp-1.crt'))
    assert.match(cp, /TLS Web Server Authentication/)
    assert.match(cp, /DNS:cp-1, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:gw.example.com, IP Address:10.1.2.3/)
    assert.match(x509Text(join(dir, 'dp-1.crt')), /TLS Web Client Authentication/)
    assert.match(x509Text(ca), /CA:TRUE/)
    const info = inspectCertificate(await readFile(join(dir, 'dp-1.crt'), 'utf8'))
    assert.equal(Date.parse(info.notAfter) - Date.parse(info.notBefore), 90 * 86_400_000)

    const again = await runKctl(['gen-cert', '--mtls', 'pki', '--out', 'pki'], {cwd})
    assert.equal(again.code, 1)
    assert.match(again.stderr, /ca\.crt already exists/)
  })

  test('--mtls pki rejects --cert/--key and bad node lists (exit 2)', async (t) => {
    const cwd = await tempDir(t)
    for (const args of [['--cert', 'a', '--key', 'b'], ['--nodes', 'cp-1'], ['--nodes', 'cp-1:xx'], ['--nodes', 'a:cp,a:dp'], ['--nodes', 'ca:cp']]) {
      const r = await runKctl(['gen-cert', '--mtls', 'pki', ...args], {cwd})
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    }
    const shared = await runKctl(['gen-cert', '--nodes', 'cp-1:cp'], {cwd})
    assert.equal(shared.code, 2)
    assert.match(shared.stderr, /--mtls pki/)
  })
})
