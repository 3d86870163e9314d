#!/usr/bin/env node
/**
 * What applying a one-route delta costs a data plane at BENCH_ROUTES routes, step by step,
 * in one process (no network): decode the frame, apply the change to the synced entity
 * set and check it, build the proxy snapshot (router, plugin plan…), swap. The same steps
 * as roles/data-plane-node.ts; with --cpu-prof it profiles them. Both checks in one run,
 * alternately: the digest a kctl control plane sends, and Kong's config hash (what a DP
 * computes from an older control plane's frames).
 *
 *   npm run build && node bench/delta-apply.js            # BENCH_ROUTES=10000 BENCH_CHANGES=200
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/delta-apply.js
 */
import {randomUUID} from 'node:crypto'
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
const table = exportConfig(set)
const version = 1
// the CP side: each change is one route's new paths; the frame carries the CP's hash and
// the digest of the configuration after it (a CP following its database, synced-config.ts)
const cp = new SyncedConfig()
const first = cp.loadOwn(set, version)
const rows = [...first.entities.routes]
const changes = []
for (let i = 0; i < CHANGES; i++) {
  const at = (i * 7919) % ROUTES
  const changed = {...rows[at], paths: [`/changed/${i}`], updated_at: rows[at].updated_at + 1}
  rows[at] = changed
  const c = {kind: 'routes', id: changed.id, entity: changed}
  const st = cp.applyOwn([c], version + 1 + i)
  changes.push({c, hash: st.hash, hashes: st.hashes, digest: st.digest})
}

/** One DP following every change: `check` digest (what a kctl CP sends) or hash (an older CP's frames). */
function follow(check) {
  const full = decodeFrame(encodeReconfigure({timestamp: 0, config_table: table, config_hash: first.hash, hashes: first.hashes, kctl_version: version}))
  const synced = new SyncedConfig()
  let state = synced.loadFull(full)
  // as a DP does when idle after a whole configuration: a slice at a time
  const slices = []
  const warming = synced.warming()
  for (let done = false; !done; ) {
    const t = performance.now()
    done = warming.next().done
    slices.push(performance.now() - t)
  }
  let snapshot = buildSnapshot(state.entities)
  const frames = changes.map(({c, hash, hashes, digest}, i) =>
    encodeDelta({from: version + i, version: version + i + 1, config_hash: hash, hashes, ...(check === 'digest' ? {kctl_digest: digest} : {}), deltas: [{kind: c.kind, id: c.id, entity: exportRow(getSchema('routes'), c.entity)}]}),
  )
  const steps = {decode: [], entities_and_check: [], snapshot: [], total: []}
  const cpu0 = process.cpuUsage()
  for (const bytes of frames) {
    const t0 = performance.now()
    const d = decodeFrame(bytes)
    const t1 = performance.now()
    const next = synced.prepareDelta(d)
    const t2 = performance.now()
    snapshot = MODE === 'full' ? buildSnapshot(next.entities) : updateSnapshot(snapshot, next.entities, d.changes)
    next.commit()
    state = synced.current()
    const t3 = performance.now()
    steps.decode.push(t1 - t0)
    steps.entities_and_check.push(t2 - t1)
    steps.snapshot.push(t3 - t2)
    steps.total.push(t3 - t0)
  }
  const cpu = process.cpuUsage(cpu0)
  const probe = snapshot.router.match({method: 'GET', path: `/changed/${CHANGES - 1}`, host: 'x', headers: {}, scheme: 'http', port: 8000})
  if (!probe) throw new Error('the last change is not routed')
  if (state.hash !== changes.at(-1).hash) throw new Error('the DP did not end with the CP hash')
  return {check, steps, cpuMs: (cpu.user + cpu.system) / 1000 / CHANGES, slices}
}

const runs = ['hash', 'digest', 'hash', 'digest'].map(follow)
console.log(`One-route delta at ${ROUTES.toLocaleString('en-US')} routes, ${CHANGES} changes, mode ${MODE}, each check run twice alternately; ${machine()}`)
const p = (v, q) => `${fmt.ms(q === 50 ? median([...v].sort((a, b) => a - b)) : percentile([...v].sort((a, b) => a - b), q))} ms`
console.log(markdownTable(['check', 'decode p50', 'entities + check p50 / p99', 'snapshot p50', 'total p50 / p99', 'CPU per change'], runs.map((r) => [r.check, p(r.steps.decode, 50), `${p(r.steps.entities_and_check, 50)} / ${p(r.steps.entities_and_check, 99)}`, p(r.steps.snapshot, 50), `${p(r.steps.total, 50)} / ${p(r.steps.total, 99)}`, `${fmt.ms(r.cpuMs)} ms`])))
const slices = runs.flatMap((r) => r.slices).sort((a, b) => a - b)
console.log(`\nWarming after a whole configuration (hash marks and digest), per run: ${runs[0].slices.length} slices, ${fmt.ms(runs.reduce((t, r) => t + r.slices.reduce((a, b) => a + b, 0), 0) / runs.length)} ms in all; slice p50 ${fmt.ms(median(slices))} ms, p99 ${fmt.ms(percentile(slices, 99))} ms, longest ${fmt.ms(slices.at(-1))} ms`)
