/**
 * Vectors for Kong's config hash. Each expected value is the md5 of the canonical string
 * written out by hand from Kong's algorithm, so the canonicalisation itself is checked.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {describe, test} from 'node:test'
import {configHash, EMPTY_CONFIG_HASH, hashItemsCached, hashValue, luaNumber, newHashResume, type CanonPiece} from '../../src/runtime/clustering/config-hash.js'
import fc from 'fast-check'
import {checkPlugins, checkVersion} from '../../src/runtime/clustering/compat.js'

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex')

describe('config hash', () => {
  test('scalars, null and empty tables', () => {
    assert.equal(hashValue('abc'), md5('abc'))
    assert.equal(hashValue(60000), md5('60000'))
    assert.equal(hashValue(true), md5('true'))
    assert.equal(hashValue(null), md5('/null/'))
    assert.equal(hashValue([]), md5('{}'))
    assert.equal(hashValue({}), md5('{}'))
    assert.equal(hashValue(undefined), EMPTY_CONFIG_HASH)
  })

  test('arrays of up to five items are joined; longer ones get a ; after each item', () => {
    assert.equal(hashValue(['a']), md5('a'))
    assert.equal(hashValue(['a', 'b', 'c', 'd', 'e']), md5('a;b;c;d;e'))
    assert.equal(hashValue(['a', 'b', 'c', 'd', 'e', 'f']), md5('a;b;c;d;e;f;'))
  })

  test('objects: sorted keys, key:value; each, nested, nulls kept', () => {
    assert.equal(hashValue({b: 1, a: 'x', c: null}), md5('a:x;b:1;c:/null/;'))
    assert.equal(hashValue({z: {y: [1, 2]}, a: []}), md5('a:{};z:y:1;2;;'))
  })

  test('numbers print as LuaJIT’s %.14g', () => {
    assert.equal(luaNumber(1.5), '1.5')
    assert.equal(luaNumber(0.1), '0.1')
    assert.equal(luaNumber(1 / 3), '0.33333333333333')
    assert.equal(luaNumber(1e15), '1e+15')
    assert.equal(luaNumber(0.00001), '1e-05')
    assert.equal(luaNumber(-42), '-42')
  })

  test('a buffer past 1,000,000 bytes folds into its raw md5', () => {
    const big = 'x'.repeat(1_000_001)
    // canonical: big ";" then, at the start of the second item, fold; then "y"
    const expected = md5(Buffer.concat([createHash('md5').update(Buffer.from(big + ';')).digest(), Buffer.from('y')]))
    assert.equal(hashValue([big, 'y']), expected)
  })

  test('granular hashes and the config hash', () => {
    const services = [{id: 's1', host: 'example.com', port: 80}]
    const table = {_format_version: '3.0', services}
    const h = configHash(table)
    assert.equal(h.services, md5('host:example.com;id:s1;port:80;'))
    assert.equal(h.routes, EMPTY_CONFIG_HASH)
    assert.equal(h.plugins, EMPTY_CONFIG_HASH)
    const rest = md5('_format_version:3.0;')
    assert.equal(h.config, md5(EMPTY_CONFIG_HASH + h.services + EMPTY_CONFIG_HASH + EMPTY_CONFIG_HASH + EMPTY_CONFIG_HASH + rest))
    const empty = configHash({})
    assert.equal(empty.config, md5(EMPTY_CONFIG_HASH.repeat(5) + md5('{}')))
  })
})

describe('compatibility rules', () => {
  test('versions: same major; a DP minor newer than the CP is refused', () => {
    assert.equal(checkVersion('3.9.0', '3.9.1').status, 'normal')
    assert.equal(checkVersion('3.9.0', '3.4.2').status, 'normal')
    assert.equal(checkVersion('3.9.0', '3.10.0').status, 'kong_version_incompatible')
    assert.equal(checkVersion('3.9.0', '2.8.0').status, 'kong_version_incompatible')
    assert.equal(checkVersion('3.9.0', 'banana').status, 'kong_version_incompatible')
  })

  test('plugins: every configured plugin must be on the DP with the same major', () => {
    const used = new Map([['key-auth', '3.9.0']])
    assert.equal(checkPlugins(used, [{name: 'key-auth', version: '3.9.1'}]).status, 'normal')
    assert.equal(checkPlugins(used, []).status, 'plugin_set_incompatible')
    assert.equal(checkPlugins(used, [{name: 'key-auth', version: '2.0.0'}]).status, 'plugin_version_incompatible')
  })

  test('an array hashed from cached items equals the whole hash, across the 1 MB folds and after items change', () => {
    // items with multi-byte text and nested values, so that folds fall inside items
    const item = fc.record({id: fc.uuid(), name: fc.string({unit: 'grapheme', maxLength: 300}), tags: fc.array(fc.string({maxLength: 20}), {maxLength: 8}), n: fc.integer(), on: fc.boolean(), nested: fc.record({a: fc.array(fc.integer(), {maxLength: 9}), z: fc.constant(null)})})
    for (const items of fc.sample(fc.array(item, {minLength: 6, maxLength: 6000}), {seed: 1616, numRuns: 12})) {
      const cache = new WeakMap<object, CanonPiece>()
      assert.equal(hashItemsCached(items, (x) => x, cache), hashValue(items))
      const half = Math.floor(items.length / 2)
      items[half] = {...items[half], name: 'changed'}
      items.splice(1, 1)
      assert.equal(hashItemsCached(items, (x) => x, cache), hashValue(items))
    }
    // resumed from the marks of the previous run: inserts, deletes and replacements at
    // random places, across the folds, equal the whole hash every time
    const resume = newHashResume()
    const cache = new WeakMap<object, CanonPiece>()
    let rows = Array.from({length: 7000}, (_, i) => ({id: `id-${i}`, name: 'é'.repeat(i % 40) + 'x'.repeat((i * 13) % 300), n: i}))
    assert.equal(hashItemsCached(rows, (x) => x, cache, resume), hashValue(rows))
    for (const [at, what] of fc.sample(fc.tuple(fc.nat({max: 7100}), fc.constantFrom('insert', 'delete', 'replace', 'none')), {seed: 7, numRuns: 150})) {
      rows = [...rows]
      const i = at % rows.length
      if (what === 'insert') rows.splice(i, 0, {id: `new-${at}`, name: 'ü'.repeat(at % 90), n: at})
      else if (what === 'delete') rows.splice(i, 1)
      else if (what === 'replace') rows[i] = {...rows[i], name: rows[i].name + '!'}
      assert.equal(hashItemsCached(rows, (x) => x, cache, resume), hashValue(rows), `${what} at ${i}`)
    }
    // deletes and inserts piling up in one place: the runs around them are laid out again
    for (let k = 0; k < 60; k++) {
      rows = [...rows]
      if (k % 3 === 2) rows.splice(1000 + k, 0, {id: `pile-${k}`, name: 'ä'.repeat(k), n: k})
      else rows.splice(1000, 1)
      assert.equal(hashItemsCached(rows, (x) => x, cache, resume), hashValue(rows), `pile ${k}`)
    }
    // large enough to fold more than once
    const big = Array.from({length: 9000}, (_, i) => ({id: `id-${i}`, name: 'é'.repeat(i % 50) + 'x'.repeat((i * 7) % 400), n: i}))
    assert.ok(JSON.stringify(big).length > 2_000_000)
    assert.equal(hashItemsCached(big, (x) => x, new WeakMap()), hashValue(big))
  })
})
