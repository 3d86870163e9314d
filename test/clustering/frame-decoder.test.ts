/**
 * The data plane's frame decoder: reconfigure frames decoded and validated on a worker
 * thread give what decoding them here gives, in order, with the step that refused a bad
 * one, and a decoder closed (or whose thread died) starts a new thread for the next frame.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {after, before, describe, test} from 'node:test'
import {exportConfig} from '../../src/runtime/clustering/export.js'
import {decodeFrame, FrameError} from '../../src/runtime/clustering/frame.js'
import {createFrameDecoder, type FrameDecoder} from '../../src/runtime/clustering/frame-decoder.js'
import {encodeReconfigure} from '../../src/runtime/clustering/protocol.js'

const now = Math.floor(Date.now() / 1000)

function frame(hash: string, routes: number, routeOverrides: Record<string, unknown> = {}): Buffer {
  const service = {id: randomUUID(), name: `svc-${hash.slice(0, 6)}`, protocol: 'http', host: '127.0.0.1', port: 9, path: null, retries: 5,
    connect_timeout: 60000, read_timeout: 60000, write_timeout: 60000, enabled: true, created_at: now, updated_at: now, tags: null,
    client_certificate: null, tls_verify: null, tls_verify_depth: null, ca_certificates: null}
  const rs = Array.from({length: routes}, (_, i) => ({id: randomUUID(), name: `r${i}`, paths: [`/r/${i}`], protocols: ['http', 'https'], strip_path: true,
    preserve_host: false, regex_priority: 0, path_handling: 'v0', https_redirect_status_code: 426, request_buffering: true, response_buffering: true,
    created_at: now, updated_at: now, service: {id: service.id}, methods: null, hosts: null, headers: null, snis: null, sources: null, destinations: null,
    tags: null, ...routeOverrides}))
  const entities = {services: [service], routes: rs, upstreams: [], targets: [], certificates: [], snis: [], plugins: [], consumers: []}
  return encodeReconfigure({timestamp: now, config_table: exportConfig(entities as any), config_hash: hash, hashes: {} as any})
}

describe('clustering: the frame decoder thread', () => {
  // One decoder for the file, its tests in order: a thread loads the whole schema registry,
  // which takes most of this file's time. The last test closes it and starts its next one.
  let decoder: FrameDecoder
  before(() => {
    decoder = createFrameDecoder()
  })
  after(() => decoder?.close())

  test('decodes as this thread does, frames in the order sent', async () => {
    const frames = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)].map((h, i) => frame(h, 50 * (i + 1)))
    const decoded = await Promise.all(frames.map((f) => decoder.decode(f)))
    assert.deepEqual(decoded.map((d) => d.msg.config_hash), ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)])
    assert.deepEqual(decoded.map((d) => d.entities.routes.length), [50, 100, 150])
    assert.deepEqual(decoded[1], decodeFrame(frames[1]))
  })

  test('says which step refused a frame: unreadable, or a configuration that does not validate (with its hash)', async () => {
    const unreadable = await decoder.decode(Buffer.from('not gzip')).then(() => assert.fail('decoded'), (e) => e)
    assert.ok(unreadable instanceof FrameError)
    assert.equal(unreadable.stage, 'decode')
    const invalid = await decoder.decode(frame('d'.repeat(32), 2, {protocols: ['gopher']})).then(() => assert.fail('decoded'), (e) => e)
    assert.ok(invalid instanceof FrameError)
    assert.equal(invalid.stage, 'validate')
    assert.equal(invalid.hash, 'd'.repeat(32))
    assert.match(invalid.message, /^route [0-9a-f-]{36}: .*protocols/)
    // the thread is still there for the next frame
    assert.equal((await decoder.decode(frame('e'.repeat(32), 1))).msg.config_hash, 'e'.repeat(32))
  })

  test('after close, the next frame starts a new thread', async () => {
    await decoder.decode(frame('f'.repeat(32), 1))
    await decoder.close()
    assert.equal((await decoder.decode(frame('0'.repeat(32), 3))).entities.routes.length, 3)
  })
})
