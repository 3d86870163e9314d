/**
 * A data plane checks the control plane's certificate before it speaks: against a real
 * TLS impostor that records every byte it receives after the handshake, the DP sends
 * nothing (no upgrade request with its node id, hostname and version), says why, and
 * connects once the real control plane answers on that address.
 */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createServer, type Server} from 'node:tls'
import {after, describe, test} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {generateClusterCertificate, issueCertificate} from '../../src/pki/index.js'
import {clusterBed, freshDatabase, spawnDataPlane, startControlPlane} from '../helpers/nodes.js'
import {makeCa} from '../helpers/certs.js'
import {until} from '../helpers/until.js'

const bed = clusterBed('kctl-cp-identity-')
const {dir, certFile, keyFile} = bed

interface Impostor {
  port: number
  /** Handshakes completed. */
  handshakes: number
  /** Every byte received after a handshake. */
  received: Buffer
  close(): Promise<void>
}

/** A TLS server on 127.0.0.1 presenting `cert`, asking for the client's, recording what comes after. */
async function startImpostor(cert: string, key: string): Promise<Impostor> {
  const port = await findFreePort()
  const state = {port, handshakes: 0, received: Buffer.alloc(0)}
  // TLS 1.2: the server's handshake ends when the client's Finished arrives, before the
  // client checks anything, so every handshake is seen, and anything the client writes
  // after it arrives before its close (TLS 1.3 tickets left unread would turn that close
  // into a reset that drops what came with it).
  const server: Server = createServer({cert, key, requestCert: true, rejectUnauthorized: false, maxVersion: 'TLSv1.2'}, (socket) => {
    state.handshakes++
    socket.on('data', (d: Buffer) => (state.received = Buffer.concat([state.received, d])))
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (s) => sockets.add(s))
  after(() => server.close())
  return Object.assign(state, {
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  })
}

/** Waits for two handshakes: the first connection was over (the DP retried) with nothing sent on it. */
async function assertNothingSent(impostor: Impostor): Promise<void> {
  await until('the data plane completed a handshake and retried', async () => impostor.handshakes, {ok: (v) => v >= 2})
  assert.equal(impostor.received.length, 0, `the impostor received: ${JSON.stringify(impostor.received.toString('latin1').slice(0, 200))}`)
}

describe('a data plane verifies the control plane before it speaks', () => {
  test('shared: a CP without the cluster certificate gets nothing; the real CP on that address then serves the DP', async () => {
    const other = await generateClusterCertificate({days: 1})
    const impostor = await startImpostor(other.cert, other.key)
    const shared = {cluster_cert: certFile, cluster_cert_key: keyFile}
    const dp = await spawnDataPlane(dir, impostor.port, shared)
    await dp.node.waitOutput(
      new RegExp(`\\[error\\].*refusing control plane 127\\.0\\.0\\.1:${impostor.port}: the control plane's certificate \\(SHA-256 [0-9A-F:]+\\) is not the cluster certificate \\(SHA-256 [0-9A-F:]+\\) required by cluster_mtls = shared; nothing was sent to it`),
    )
    await assertNothingSent(impostor)
    assert.doesNotMatch(dp.node.output(), /connected to control plane/)
    // The same failure is logged once, not once per retry.
    assert.equal(dp.node.output().match(/refusing control plane/g)?.length, 1)

    await impostor.close()
    const cp = await startControlPlane(dir, bed.pg, await freshDatabase(bed.pg, 'identity_shared'), {...shared, cluster_listen: `127.0.0.1:${impostor.port}`})
    await dp.node.waitReady(30_000)
    await dp.node.waitOutput(/connected to control plane/)
    await Promise.all([cp.node.stop(), dp.node.stop()])
  })

  test('pki: a CP certificate from another CA, or for another name, gets nothing; the right one serves', async () => {
    const ca = await makeCa()
    const files: Record<string, {cert: string; key: string}> = {
      ca,
      cp: await issueCertificate(ca, {commonName: 'cp.cluster.test', sans: ['cp.cluster.test'], usage: 'server', days: 1}),
      dp: await issueCertificate(ca, {commonName: 'dp-1', sans: ['dp-1'], usage: 'client', days: 1}),
      otherCa: await issueCertificate(await makeCa(), {commonName: 'cp.cluster.test', sans: ['cp.cluster.test'], usage: 'server', days: 1}),
      otherName: await issueCertificate(ca, {commonName: 'elsewhere.test', sans: ['elsewhere.test'], usage: 'server', days: 1}),
    }
    for (const [name, pair] of Object.entries(files)) {
      writeFileSync(join(dir, `id-${name}.crt`), pair.cert)
      writeFileSync(join(dir, `id-${name}.key`), pair.key, {mode: 0o600})
    }
    const pki = (name: string) => ({cluster_mtls: 'pki', cluster_ca_cert: join(dir, 'id-ca.crt'), cluster_cert: join(dir, `id-${name}.crt`), cluster_cert_key: join(dir, `id-${name}.key`), cluster_server_name: 'cp.cluster.test'})

    const fromOtherCa = await startImpostor(files.otherCa.cert, files.otherCa.key)
    const dp = await spawnDataPlane(dir, fromOtherCa.port, pki('dp'))
    await dp.node.waitOutput(new RegExp(`refusing control plane 127\\.0\\.0\\.1:${fromOtherCa.port}: the control plane's certificate does not verify against cluster_ca_cert: [A-Z_]+; nothing was sent to it`))
    await assertNothingSent(fromOtherCa)
    await dp.node.stop()

    const forOtherName = await startImpostor(files.otherName.cert, files.otherName.key)
    const dp2 = await spawnDataPlane(dir, forOtherName.port, pki('dp'))
    await dp2.node.waitOutput(new RegExp(`refusing control plane 127\\.0\\.0\\.1:${forOtherName.port}: the control plane's certificate is not for 'cp\\.cluster\\.test' \\(cluster_server_name\\)`))
    await assertNothingSent(forOtherName)
    assert.doesNotMatch(dp2.node.output(), /connected to control plane/)

    await forOtherName.close()
    const cp = await startControlPlane(dir, bed.pg, await freshDatabase(bed.pg, 'identity_pki'), {...pki('cp'), cluster_listen: `127.0.0.1:${forOtherName.port}`})
    await dp2.node.waitReady(30_000)
    const rows = (await (await fetch(`${cp.admin}/clustering/data-planes`)).json()).data as {id: string}[]
    assert.deepEqual(rows.map((r) => r.id), [readFileSync(join(dp2.node.prefix, 'kong.id'), 'utf8').trim()])
    await Promise.all([cp.node.stop(), dp2.node.stop()])
  })
})
