/**
 * The `local` policy's counters: a slot per period, a new window counting from zero, and the
 * sweep that keeps the map bounded without losing a window still running; and its headers
 * with limits that are not whole numbers, which the schema takes (any number above 0).
 */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {LocalCounters, PERIODS, windowOf} from '../../src/runtime/plugins/rate-limiting/counters.js'
import {route, service} from '../router/fixtures.js'
import {get, startProxy, startUpstream} from '../proxy/helpers.js'
import {plugin} from './fixtures.js'

const MINUTE = PERIODS.indexOf('minute')
const HOUR = PERIODS.indexOf('hour')
const SECOND = PERIODS.indexOf('second')

describe('rate-limiting: local counters', () => {
  test('each period counts in its own slot; a new window starts from zero', () => {
    const counters = new LocalCounters()
    const set = counters.of('route:service:consumer')
    const now = Date.UTC(2026, 0, 1, 10, 0, 30)
    const [m0, m1] = windowOf('minute', now)
    const [h0, h1] = windowOf('hour', now)
    for (let i = 0; i < 3; i++) LocalCounters.increment(set, MINUTE, m0, m1)
    LocalCounters.increment(set, HOUR, h0, h1)
    assert.equal(counters.of('route:service:consumer'), set, 'the same key gives the same counters')
    assert.equal(LocalCounters.get(set, MINUTE, m0), 3)
    assert.equal(LocalCounters.get(set, HOUR, h0), 1)
    // the next minute: the minute counts from zero, the hour goes on
    const [n0, n1] = windowOf('minute', now + 60_000)
    assert.equal(LocalCounters.get(set, MINUTE, n0), 0)
    LocalCounters.increment(set, MINUTE, n0, n1)
    LocalCounters.increment(set, HOUR, h0, h1)
    assert.equal(LocalCounters.get(set, MINUTE, n0), 1)
    assert.equal(LocalCounters.get(set, MINUTE, m0), 0, 'the old window is gone')
    assert.equal(LocalCounters.get(set, HOUR, h0), 2)
    assert.equal(LocalCounters.get(counters.of('other'), MINUTE, n0), 0, 'another identifier has its own')
  })

  test('past 100,000 identifiers the ended ones are dropped, the running ones kept', () => {
    const counters = new LocalCounters()
    const now = Date.now()
    const [s0, s1] = windowOf('second', now - 10_000)
    const [h0, h1] = windowOf('hour', now + 3_600_000)
    // one that still counts (its hour has not ended), then 99,999 whose only window ended
    LocalCounters.increment(counters.of('running'), HOUR, h0, h1)
    for (let i = 1; i < 100_000; i++) LocalCounters.increment(counters.of(`ended-${i}`), SECOND, s0, s1)
    const ended = counters.of('ended-1')
    // the map is full: the next new identifier sweeps it
    LocalCounters.increment(counters.of('new'), MINUTE, ...windowOf('minute', now))
    assert.equal(LocalCounters.get(counters.of('running'), HOUR, h0), 1, 'a running window survives the sweep')
    assert.notEqual(counters.of('ended-1'), ended, 'an ended one was dropped (its key now gets fresh counters)')
    assert.equal(LocalCounters.get(counters.of('new'), MINUTE, windowOf('minute', now)[0]), 1)
  })
})

describe('rate-limiting: local policy headers', () => {
  /** A proxy with one route limited by `limits` (local policy, per client IP); its port. */
  async function limitedProxy(t: Parameters<typeof startUpstream>[0], limits: Record<string, number>): Promise<number> {
    const up = await startUpstream(t, 'up')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const r = route({paths: ['/'], service: {id: s.id}})
    const {port} = await startProxy(t, {services: [s], routes: [r], plugins: [plugin('rate-limiting', {...limits, policy: 'local', limit_by: 'ip'}, {route: r.id})]})
    return port
  }

  /** Waits for the first 200 ms of a second that is not among its minute's last 5 s. */
  async function startOfSecond(): Promise<void> {
    while (Date.now() % 1000 > 200 || Date.now() % 60_000 > 55_000) await new Promise((res) => setTimeout(res, 20))
  }

  test('a fractional limit never gives a negative remaining count; the tie goes to the longer window', async (t) => {
    const port = await limitedProxy(t, {second: 1.5, minute: 1.6})
    // the three requests within one second (and one minute)
    await startOfSecond()
    const first = await get(port, '/')
    const second = await get(port, '/')
    const third = await get(port, '/')
    assert.equal(first.status, 200)
    assert.equal(first.headers['x-ratelimit-remaining-second'], '0.5')
    assert.equal(second.status, 200)
    assert.equal(second.headers['x-ratelimit-remaining-second'], '0')
    assert.equal(second.headers['x-ratelimit-remaining-minute'], '0')
    assert.equal(second.headers['ratelimit-remaining'], '0')
    assert.equal(second.headers['ratelimit-limit'], '1.6', 'both at 0: the window that ends later')
    assert.ok(Number(second.headers['ratelimit-reset']) > 1)
    assert.equal(third.status, 429)
    assert.equal(third.headers['x-ratelimit-remaining-second'], '0')
  })

  test('refused by a longer window, a shorter one not reached shows its remaining budget without this request (as Kong)', async (t) => {
    const port = await limitedProxy(t, {second: 2, minute: 3})
    // two requests in one second, two in the next, all four within one minute
    await startOfSecond()
    assert.equal((await get(port, '/')).status, 200)
    assert.equal((await get(port, '/')).status, 200)
    // the next two in a later second than the second request's, whenever that one came
    const second = Math.floor(Date.now() / 1000)
    while (Math.floor(Date.now() / 1000) === second) await new Promise((res) => setTimeout(res, 20))
    const third = await get(port, '/')
    const fourth = await get(port, '/')
    assert.equal(third.status, 200)
    assert.equal(third.headers['x-ratelimit-remaining-second'], '1')
    assert.equal(third.headers['x-ratelimit-remaining-minute'], '0')
    // the minute is used up; this second's one request leaves 2 - 1, the refused one not counted
    assert.equal(fourth.status, 429)
    assert.equal(fourth.headers['x-ratelimit-remaining-second'], '1')
    assert.equal(fourth.headers['x-ratelimit-limit-second'], '2')
    assert.equal(fourth.headers['x-ratelimit-remaining-minute'], '0')
    assert.equal(fourth.headers['ratelimit-limit'], '3')
    assert.equal(fourth.headers['ratelimit-remaining'], '0')
    assert.ok(Number(fourth.headers['ratelimit-reset']) > 1)
    assert.equal(fourth.headers['retry-after'], fourth.headers['ratelimit-reset'])
  })
})
