/** When a supervisor restarts a crashed serving process, and when it gives up (backoff.ts). */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {decide} from '../../src/runtime/supervisor/backoff.js'

const T = 1_000_000

describe('supervisor backoff', () => {
  test('a crash long after start, none before it: restarted at once', () => {
    assert.deepEqual(decide({crashes: [T], startCrashes: 0}, T), {restart: true, delayMs: 0})
    assert.deepEqual(decide({crashes: [T - 60_000, T], startCrashes: 0}, T), {restart: true, delayMs: 0}, 'an old crash is forgotten')
  })

  test('quick repeated crashes: growing delays, capped; the 5th within 30 s gives up', () => {
    const crashes = [T - 4000, T - 3000, T - 2000, T - 1000, T]
    assert.deepEqual(decide({crashes: crashes.slice(3), startCrashes: 0}, T), {restart: true, delayMs: 100})
    assert.deepEqual(decide({crashes: crashes.slice(2), startCrashes: 0}, T), {restart: true, delayMs: 200})
    assert.deepEqual(decide({crashes: crashes.slice(1), startCrashes: 0}, T), {restart: true, delayMs: 400})
    assert.deepEqual(decide({crashes, startCrashes: 0}, T), {restart: false, reason: 'crashed 5 times within 30 s'})
    const policy = {maxCrashes: 50, windowMs: 30_000, maxStartCrashes: 3, firstDelayMs: 100, maxDelayMs: 5000}
    const many = Array.from({length: 20}, (_, i) => T - i)
    assert.deepEqual(decide({crashes: many, startCrashes: 0}, T, policy), {restart: true, delayMs: 5000}, 'capped')
  })

  test('crashes during start: a delay from the first, the 3rd in a row gives up', () => {
    assert.deepEqual(decide({crashes: [T], startCrashes: 1}, T), {restart: true, delayMs: 100})
    assert.deepEqual(decide({crashes: [T - 500, T], startCrashes: 2}, T), {restart: true, delayMs: 200})
    assert.deepEqual(decide({crashes: [T - 900, T - 500, T], startCrashes: 3}, T), {restart: false, reason: 'crashed 3 times in a row while starting'})
  })
})
