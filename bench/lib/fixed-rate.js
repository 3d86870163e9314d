/**
 * A fixed-rate (open-loop) HTTP/1.1 load of our own, for "what does this operation do to
 * the traffic" benchmarks. Each target gets `rate` requests per second on a fixed schedule,
 * whether or not the earlier ones have been answered, so a stall shows up as latency and
 * failures instead of as fewer requests (a closed-loop tool would slow down with the
 * server). Requests alternate between a keep-alive pool (it grows when every socket is
 * busy) and a new connection each, and are never retried: one GET = one counted result.
 *
 * Latency is measured from the request's scheduled time, so a late send counts against
 * the server, not in its favour. The one request function is the tests' (`shot` from
 * test/helpers/load.ts, compiled), so the bench and the "0 failed requests" tests count a
 * failure the same way.
 */
import {Agent} from 'node:http'
import {shot} from '../../dist/test/helpers/load.js'

/**
 * Starts the load: `rate` requests/s to each of `urls`. `stop()` ends the schedule, waits
 * (at most `graceMs`) for the requests in flight and resolves with the run: every request
 * {at (scheduled, epoch ms), end, ms, ok, code}, and the schedule's own count check.
 */
export function startFixedRate(urls, rate, {graceMs = 10_000} = {}) {
  const targets = urls.map((url) => ({url, agent: new Agent({keepAlive: true, maxSockets: Infinity}), sent: 0}))
  const results = []
  const inFlight = new Set()
  const startedAt = Date.now()
  const interval = 1000 / rate
  let scheduled = 0
  let stopped = false
  let due = startedAt

  const fire = (t, at) => {
    const keepAlive = t.sent++ % 2 === 0
    const p = shot(t.url, keepAlive ? t.agent : false).then((s) => {
      if (rec.abandoned) return
      inFlight.delete(rec)
      rec.end = s.end
      rec.ms = s.end - at
      rec.ok = s.ok
      rec.code = s.code
      results.push(rec)
    })
    const rec = {url: t.url, at, keepAlive, p}
    inFlight.add(rec)
  }
  // A 1 ms tick that catches up: every request whose time has come is sent with its own
  // scheduled time, so the timer's lateness is charged to the latency, not hidden.
  const timer = setInterval(() => {
    const now = Date.now()
    while (!stopped && due <= now) {
      for (const t of targets) fire(t, due)
      scheduled += targets.length
      due += interval
    }
  }, 1)

  return {
    startedAt,
    async stop() {
      stopped = true
      clearInterval(timer)
      const endedAt = Date.now()
      const expected = Math.floor((endedAt - startedAt) / interval + 1) * targets.length
      let deadline
      await Promise.race([Promise.all([...inFlight].map((r) => r.p)), new Promise((r) => (deadline = setTimeout(r, graceMs)))])
      clearTimeout(deadline)
      // What is still unanswered after the grace time failed: counted, not dropped.
      for (const rec of inFlight) {
        rec.abandoned = true
        results.push({url: rec.url, at: rec.at, keepAlive: rec.keepAlive, end: NaN, ms: NaN, ok: false, code: `no answer within ${graceMs} ms`})
      }
      for (const t of targets) t.agent.destroy()
      results.sort((a, b) => a.at - b.at)
      return {results, scheduled, expected, startedAt, endedAt, rate, targets: urls.length}
    },
  }
}

/**
 * Requests scheduled in [from, to): count, failures by cause, and p50/p99/max latency of
 * the successful ones (a refused connection fails fast and would flatter the percentiles).
 */
export function window(results, from, to) {
  const inside = results.filter((r) => r.at >= from && r.at < to)
  const failed = {}
  for (const r of inside) if (!r.ok) failed[r.code] = (failed[r.code] ?? 0) + 1
  const ms = inside.filter((r) => r.ok).map((r) => r.ms).sort((a, b) => a - b)
  const pct = (p) => (ms.length ? ms[Math.min(ms.length - 1, Math.max(0, Math.ceil((p / 100) * ms.length) - 1))] : NaN)
  return {requests: inside.length, failed: inside.length - inside.filter((r) => r.ok).length, causes: failed, p50: pct(50), p99: pct(99), max: ms.length ? ms[ms.length - 1] : NaN}
}
