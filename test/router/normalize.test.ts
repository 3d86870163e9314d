/**
 * Port of Kong's spec/01-unit/18-tools_uri_spec.lua (Kong/kong, 3.9): `normalize()` and
 * `escape()` of kong/tools/uri.lua, which the router and the upstream path use. kctl's
 * normalizePath is Kong's `normalize(uri, true)`, the only form Kong's router calls, so the
 * cases written for `merge_slashes` off say what the router sees instead. Kong works on
 * bytes and kctl on characters: decoded octets are read as UTF-8, and octets that are not
 * UTF-8 keep their (upper-cased) escapes where Kong has raw bytes.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {escapePath, normalizePath} from '../../src/runtime/router/normalize.js'

describe('kong.tools.uri', () => {
  describe('normalize()', () => {
    it('no normalization necessary', () => {
      // Kong: "" stays ""; a request path is never empty, and an empty result routes as "/"
      assert.equal(normalizePath(''), '/')
      assert.equal(normalizePath('/'), '/')
      assert.equal(normalizePath('/a'), '/a')
      assert.equal(normalizePath('/a/'), '/a/')
      assert.equal(normalizePath('/a/b/c'), '/a/b/c')
      assert.equal(normalizePath('/a/b/c/'), '/a/b/c/')
    })

    it('no normalization necessary (reserved characters)', () => {
      assert.equal(normalizePath('/a%2Fb%2Fc/'), '/a%2Fb%2Fc/')
      assert.equal(normalizePath('/%20%21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D'), '/ %21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D')
    })

    it('converting percent-encoded triplets to uppercase', () => {
      assert.equal(normalizePath('/a%2fb%2fc/'), '/a%2Fb%2Fc/')
      assert.equal(normalizePath('/f%6f%6f'), '/foo')
    })

    it('decoding percent-encoded triplets of unreserved characters', () => {
      assert.equal(normalizePath('/%6B%6f%6e%67'), '/kong')
      assert.equal(normalizePath('/%2E'), '/')
    })

    it('remove dot segments', () => {
      // Kong without merge_slashes: "//" and "/////" stay; the router merges them
      assert.equal(normalizePath('//'), '/')
      assert.equal(normalizePath('/./'), '/')
      assert.equal(normalizePath('/.'), '/')
      assert.equal(normalizePath('/..'), '/')
      assert.equal(normalizePath('/../'), '/')
      assert.equal(normalizePath('/////'), '/')
      assert.equal(normalizePath('/./.././../'), '/')
      // RFC3986 examples, p. 33
      assert.equal(normalizePath('/a/b/c/./../../g'), '/a/g')
      assert.equal(normalizePath('mid/content=5/../6'), 'mid/6')
    })

    it('merge_slashes', () => {
      assert.equal(normalizePath('//'), '/')
      assert.equal(normalizePath('/////'), '/')
      assert.equal(normalizePath('/a//b//'), '/a/b/')
    })

    it('decodes non-ASCII characters that are unreserved, issue #2366', () => {
      assert.equal(normalizePath('/endel%C3%B8st'), '/endeløst')
    })

    it('does normalize complex uri that has characters outside of normal uri charset', () => {
      // Kong: "/ä/a./a/_\x99\xaf%2F%2F" (two raw octets that are not UTF-8); kctl keeps their escapes
      assert.equal(normalizePath('/%C3%A4/a/%2e./a%2E//a/%2e/./a/../a/%2e%2E/%5f%99%af%2f%2F'), '/ä/a./a/_%99%AF%2F%2F')
    })
  })

  describe('escape()', () => {
    it('do not escape reserved or unreserved characters, plus %', () => {
      const all = "/!#$%&'()*+,/:;=?@[]ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
      assert.equal(escapePath(all), all)
    })

    it('escape spaces', () => {
      assert.equal(escapePath('/a b/c d'), '/a%20b/c%20d')
    })

    it('escape utf-8 characters', () => {
      assert.equal(escapePath('/a😀'), '/a%F0%9F%98%80')
      assert.equal(escapePath('/endeløst'), '/endel%C3%B8st')
    })
  })

  describe('kctl: decoding and escaping again go round', () => {
    it('what normalization decodes goes upstream as Kong sends it', () => {
      for (const [raw, up] of [
        ['/caf%c3%a9', '/caf%C3%A9'],
        ['/sp%20ace', '/sp%20ace'],
        ['/a%2fb', '/a%2Fb'],
        ['/bad%C3x', '/bad%C3x'],
        ['/%zz/%', '/%zz/%'],
        ['/a"b<c>{d}|e^f`g\\h', '/a%22b%3Cc%3E%7Bd%7D%7Ce%5Ef%60g%5Ch'],
      ]) {
        assert.equal(escapePath(normalizePath(raw)), up, raw)
      }
    })
  })
})
