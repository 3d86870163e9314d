/**
 * A data plane's config cache written through `CacheWriter` (src/runtime/clustering/cache.ts):
 * writes queued without waiting land in order, a whole configuration empties the delta log,
 * files are 0600, and a failed write is reported without stopping the ones after it.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {gunzipSync, gzipSync} from 'node:zlib'
import {CacheWriter, cachePath, deltaLogPath, readCache, readDeltaLog} from '../../src/runtime/clustering/cache.js'

const root = mkdtempSync(join(tmpdir(), 'kctl-cache-'))
after(() => rmSync(root, {recursive: true, force: true}))
let n = 0
const prefix = () => {
  const dir = join(root, String(n++))
  mkdirSync(dir)
  return dir
}
const frame = (i: number) => gzipSync(JSON.stringify({type: 'kctl_delta', from: i, version: i + 1}))

describe('config cache writer', () => {
  test('deltas queued without waiting are logged in order, each whole', async () => {
    const dir = prefix()
    const failures: Error[] = []
    const writer = new CacheWriter(dir, (err) => failures.push(err))
    writer.replace(gzipSync('{"type":"reconfigure"}'))
    for (let i = 0; i < 200; i++) void writer.append(frame(i))
    await writer.idle()
    assert.deepEqual(failures, [])
    const logged = readDeltaLog(dir).map((b) => JSON.parse(gunzipSync(b).toString()).from)
    assert.deepEqual(logged, Array.from({length: 200}, (_, i) => i))
    assert.equal(statSync(deltaLogPath(dir)).mode & 0o777, 0o600)
    assert.equal(statSync(cachePath(dir)).mode & 0o777, 0o600)
  })

  test('a whole configuration replaces the cache and empties the log; JSON is gzipped', async () => {
    const dir = prefix()
    const writer = new CacheWriter(dir, (err) => assert.fail(err))
    void writer.append(frame(1))
    void writer.append(frame(2))
    const json = JSON.stringify({type: 'reconfigure', config_hash: 'a'.repeat(32), config_table: {routes: Array.from({length: 1000}, (_, i) => ({id: String(i)}))}})
    void writer.replace({json})
    void writer.append(frame(3))
    await writer.idle()
    assert.equal(gunzipSync(readCache(dir)!).toString(), json)
    assert.deepEqual(readDeltaLog(dir).map((b) => JSON.parse(gunzipSync(b).toString()).from), [3])
  })

  test('a failed write is reported, and the writes after it still happen', async () => {
    const dir = prefix()
    const failures: Error[] = []
    const writer = new CacheWriter(dir, (err) => failures.push(err))
    // the log's path taken by a directory: appending fails
    mkdirSync(deltaLogPath(dir))
    const failed = writer.append(frame(1))
    await failed // resolves: the error goes to the callback, not to the caller
    assert.equal(failures.length, 1)
    assert.match(failures[0].message, /EISDIR|illegal operation on a directory/)
    rmSync(deltaLogPath(dir), {recursive: true})
    void writer.append(frame(2))
    await writer.idle()
    assert.deepEqual(readDeltaLog(dir).map((b) => JSON.parse(gunzipSync(b).toString()).from), [2])
    assert.equal(failures.length, 1)
  })
})
