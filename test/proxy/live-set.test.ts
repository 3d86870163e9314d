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
  test('adds, removes by entry once, counts, and says what it holds', () => {
    const set = new LiveSet<{n: number}>()
    const [a, b, c] = [{n: 1}, {n: 2}, {n: 3}].map((x) => set.add(x))
    assert.equal(set.size, 3)
    assert.deepEqual([...set].map((x) => x.n), [3, 2, 1], 'newest first')
    assert.equal(b.value.n, 2, 'an entry names its object')
    assert.equal(set.delete(b), true)
    assert.equal(set.delete(b), false, 'a second delete finds nothing')
    assert.equal(set.size, 2)
    assert.deepEqual([...set].map((x) => x.n), [3, 1])
    set.delete(c)
    assert.deepEqual([...set].map((x) => x.n), [1], 'the head removed: the rest still linked')
    set.delete(a)
    assert.equal(set.size, 0)
    assert.deepEqual([...set], [])
    set.add({n: 2})
    assert.deepEqual([...set].map((x) => x.n), [2], 'usable again once empty')
  })

  test('nothing is written on the objects: a copy or a frozen object is no different', () => {
    const set = new LiveSet<object>()
    const frozen = Object.freeze({n: 1})
    const plain = {n: 2}
    const entries = [set.add(frozen), set.add(plain)]
    assert.deepEqual(Reflect.ownKeys(plain), ['n'])
    assert.deepEqual({...plain}, {n: 2})
    assert.equal(set.size, 2)
    for (const e of entries) set.delete(e)
    assert.equal(set.size, 0)
  })

  test('iteration goes over what was there when it started, whatever is removed or added meanwhile', () => {
    const set = new LiveSet<{n: number}>()
    const entries = Array.from({length: 5}, (_, n) => set.add({n}))
    const byValue = new Map(entries.map((e) => [e.value, e]))
    const seen: number[] = []
    for (const x of set) {
      seen.push(x.n)
      set.delete(byValue.get(x)!)
      if (x.n === 4) set.delete(entries[2]) // a later one, removed before its turn: still visited
      const added = set.add({n: 10 + x.n})
      byValue.set(added.value, added)
    }
    assert.deepEqual(seen, [4, 3, 2, 1, 0])
    assert.deepEqual([...set].map((x) => x.n).sort((p, q) => p - q), [10, 11, 12, 13, 14], 'a copy: the removed one still had its turn')
    set.clear()
    assert.equal(set.size, 0)
    assert.deepEqual([...set], [])
    assert.equal(set.delete(entries[0]), false, 'an entry removed by clear is gone')
  })

  test('an object may be in two sets, or twice in one; each entry is its own', () => {
    const one = new LiveSet<object>()
    const two = new LiveSet<object>()
    const x = {}
    const inOne = one.add(x)
    const inTwo = two.add(x)
    const again = two.add(x)
    one.delete(inOne)
    assert.equal(one.size, 0)
    assert.equal(two.size, 2)
    two.delete(inTwo)
    assert.deepEqual([...two], [x])
    assert.equal(two.delete(again), true)
    assert.equal(two.size, 0)
  })

  test("another set's entry removes nothing here", () => {
    const one = new LiveSet<object>()
    const two = new LiveSet<object>()
    const a = one.add({})
    const b = two.add({})
    assert.equal(one.delete(b), false)
    assert.equal(one.size, 1)
    assert.equal(two.size, 1)
    assert.equal(two.delete(b), true)
    assert.equal(one.delete(a), true)
    assert.equal(one.size, 0)
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
