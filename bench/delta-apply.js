#!/usr/bin/env node
/**
 * What applying a one-route delta costs a data plane at BENCH_ROUTES routes, step by step,
 * in one process (no network): decode the frame, apply the change to the synced entity
 * set and check the config hash, build the proxy snapshot (router, plugin plan…), swap.
 * The same steps as roles/data-plane-node.ts; with --cpu-prof it profiles them.
 *
 *   npm run build && node bench/delta-apply.js            # BENCH_ROUTES=10000 BENCH_CHANGES=200
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/delta-apply.js
 */
import {randomUUID} from 'node:crypto'
import {configHash} from '../dist/src/runtime/clustering/config-hash.js'
import {exportConfig, exportRow} from '../dist/src/runtime/clustering/export.js'
import {decodeFrame} from '../dist/src/runtime/clustering/frame.js'
import {encodeDelta, encodeReconfigure} from '../dist/src/runtime/clustering/protocol.js'
import {SyncedConfig} from '../dist/src/runtime/clustering/synced-config.js'
import * as snap from '../dist/src/runtime/proxy/snapshot.js'
const {buildSnapshot, updateSnapshot} = snap
import {getSchema, KINDS} from '../dist/src/runtime/schema/registry.js'
import {validateEntity} from '../dist/src/runtime/schema/validate.js'
import {fmt, machine, markdownTable, median, percentile} from './lib/stats.js'

const ROUTES = Number(process.env.BENCH_ROUTES ?? 10_000)
const CHANGES = Number(process.env.BENCH_CHANGES ?? 200)
const MODE = process.env.BENCH_MODE ?? 'incremental'

function entity(kind, input, at) {
  const e = validateEntity(getSchema(kind), input, {defaults: true})
  e.id = input.id ?? randomUUID()
  e.created_at = at
  e.updated_at = at
  return e
}

const service = entity('services', {name: 'bench', url: 'http://127.0.0.1:9'}, 1_700_000_000)
const routes = Array.from({length: ROUTES}, (_, i) => entity('routes', {name: `bulk-${i}`, paths: [`/r/${i}`], service: {id: service.id}}, 1_700_000_000 + i)).sort((a, b) => (a.id < b.id ? -1 : 1))
const set = Object.fromEntries(KINDS.map((k) => [k, []]))
set.services = [service]
set.routes = routes
let table = exportConfig(set)
let version = 1
const full = decodeFrame(encodeReconfigure({timestamp: 0, config_table: table, config_hash: configHash(table).config, hashes: configHash(table), kctl_version: version}))
const synced = new SyncedConfig()
let state = synced.loadFull(full)
synced.warm() // as a DP does when idle after a whole configuration
let snapshot = buildSnapshot(state.entities)

// the CP side: each change is one route's new paths; the frame carries the CP's hash
const rows = [...routes]
const frames = []
for (let i = 0; i < CHANGES; i++) {
  const at = (i * 7919) % ROUTES
  const changed = {...rows[at], paths: [`/changed/${i}`], updated_at: rows[at].updated_at + 1}
  rows[at] = changed
  set.routes = rows
  table = exportConfig(set)
  frames.push(encodeDelta({from: version, version: version + 1, config_hash: configHash(table).config, deltas: [{kind: 'routes', id: changed.id, entity: exportRow(getSchema('routes'), changed)}]}))
  version++
}

const steps = {decode: [], entities_and_hash: [], snapshot: [], total: []}
const cpu0 = process.cpuUsage()
for (const bytes of frames) {
  const t0 = performance.now()
  const d = decodeFrame(bytes)
  const t1 = performance.now()
  const next = synced.prepareDelta(d)
  const t2 = performance.now()
  snapshot = MODE === 'full' || !updateSnapshot ? buildSnapshot(next.entities) : updateSnapshot(snapshot, next.entities, d.changes)
  next.commit()
  state = synced.current()
  const t3 = performance.now()
  steps.decode.push(t1 - t0)
  steps.entities_and_hash.push(t2 - t1)
  steps.snapshot.push(t3 - t2)
  steps.total.push(t3 - t0)
}
const cpu = process.cpuUsage(cpu0)
const probe = snapshot.router.match({method: 'GET', path: `/changed/${CHANGES - 1}`, host: 'x', headers: {}, scheme: 'http', port: 8000})
if (!probe) throw new Error('the last change is not routed')
console.log(`One-route delta at ${ROUTES.toLocaleString('en-US')} routes, ${CHANGES} changes, mode ${MODE}; ${machine()}`)
console.log(markdownTable(['step', 'p50', 'p99'], Object.entries(steps).map(([k, v]) => [k, `${fmt.ms(median(v.sort((a, b) => a - b)))} ms`, `${fmt.ms(percentile(v, 99))} ms`])))
console.log(`CPU per change (user+system): ${fmt.ms((cpu.user + cpu.system) / 1000 / CHANGES)} ms`)
