/**
 * The proxy's bookkeeping sets (live-set.ts) and the header merge of its own responses
 * (mergeHeaders): what a `Set` and an object spread gave, without the garbage they leave
 * for the old generation under load (bench/gc-promotion.js measures that part).
 */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {LiveSet} from '../../src/runtime/proxy/live-set.js'
import {mergeHeaders} from '../../src/runtime/proxy/headers.js'

describe('LiveSet', () => {
  test('adds once, removes once, counts, and says what it holds', () => {
    const set = new LiveSet<{n: number}>()
    const [a, b, c] = [{n: 1}, {n: 2}, {n: 3}]
    set.add(a).add(b).add(c).add(b)
    assert.equal(set.size, 3)
    assert.deepEqual([...set].map((x) => x.n), [3, 2, 1], 'newest first')
    assert.equal(set.delete(b), true)
    assert.equal(set.delete(b), false, 'a second delete finds nothing')
    assert.equal(set.delete({n: 9}), false, 'nor does one of an object never added')
    assert.equal(set.has(b), false)
    assert.equal(set.has(a), true)
    assert.deepEqual([...set].map((x) => x.n), [3, 1])
    set.delete(c)
    set.delete(a)
    assert.equal(set.size, 0)
    assert.deepEqual([...set], [])
    set.add(b)
    assert.deepEqual([...set].map((x) => x.n), [2], 'usable again once empty')
  })

  test('iteration goes over what was there when it started, whatever is removed or added meanwhile', () => {
    const set = new LiveSet<{n: number}>()
    const items = Array.from({length: 5}, (_, n) => ({n}))
    for (const x of items) set.add(x)
    const seen: number[] = []
    for (const x of set) {
      seen.push(x.n)
      set.delete(x)
      if (x.n === 4) set.delete(items[2]) // a later one, removed before its turn: still visited
      set.add({n: 10 + x.n})
    }
    assert.deepEqual(seen, [4, 3, 2, 1, 0])
    assert.deepEqual([...set].map((x) => x.n).sort((p, q) => p - q), [10, 11, 12, 13, 14], 'a copy: the removed one still had its turn')
    set.clear()
    assert.equal(set.size, 0)
  })

  test('a copy of a member (spread, Object.assign) is not a member, and removing it changes nothing', () => {
    const set = new LiveSet<object>()
    const [a, b] = [{n: 1}, {n: 2}]
    set.add(a).add(b)
    const copies = [{...b}, Object.assign({}, b)]
    for (const copy of copies) {
      assert.equal(set.has(copy), false)
      assert.equal(set.delete(copy), false)
    }
    assert.equal(set.size, 2)
    set.delete(b)
    assert.deepEqual([...set], [a])
  })

  test('an object may be in two sets; each keeps its own entry', () => {
    const one = new LiveSet<object>()
    const two = new LiveSet<object>()
    const x = {}
    one.add(x)
    two.add(x)
    one.delete(x)
    assert.equal(one.has(x), false)
    assert.equal(two.has(x), true)
    assert.equal(two.size, 1)
  })
})

describe('mergeHeaders', () => {
  test('as an object spread: in order, later sources win, empty ones skipped', () => {
    const plugins = {'x-ratelimit-remaining-minute': '4', 'content-type': 'text/html'}
    const merged = mergeHeaders<string | number>(null, plugins, undefined, {'content-type': 'application/json; charset=utf-8'}, {'content-length': 42})
    assert.deepEqual(merged, {...plugins, 'content-type': 'application/json; charset=utf-8', 'content-length': 42})
    assert.deepEqual(Object.keys(merged), ['x-ratelimit-remaining-minute', 'content-type', 'content-length'])
    assert.notEqual(merged, plugins, 'a new object; the sources are left alone')
    assert.equal(plugins['content-type'], 'text/html')
  })

  test('a __proto__ key stays a header, as spread keeps it', () => {
    const hostile = JSON.parse('{"__proto__": "x", "a": "1"}') as Record<string, string>
    const merged = mergeHeaders(hostile, {b: '2'})
    assert.deepEqual(Object.keys(merged), ['__proto__', 'a', 'b'])
    assert.equal(Object.getPrototypeOf(merged), Object.prototype)
    assert.deepEqual(Object.entries(merged), Object.entries({...hostile, b: '2'}))
  })
})
