/**
 * Kong's spec/02-integration/04-admin_api/23-cors_spec.lua (3.9): the Admin API's CORS
 * headers, with `admin_gui_url` empty, an origin, and an origin with a path, against a
 * real `database = off` node. kctl has no Admin GUI: `admin_gui_listen` is not read (the
 * node warns about the key), `admin_gui_url` sets the origins the Admin API allows, as
 * in Kong.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import type {KongClient, KongResponse} from './kong-client.js'
import {startOffNode, type OffNode} from './off-node.js'

const resStatus = (status: number, res: KongResponse) => assert.equal(res.status, status, res.text)

describe('Admin API - CORS -', () => {
  for (const adminGuiUrl of ['', 'http://admin.api:9100', 'http://admin.api:9100/path/to/any/way']) {
    describe(`when |admin_gui_url| is "${adminGuiUrl}",`, () => {
      let node: OffNode
      before(async () => {
        node = await startOffNode({admin_gui_listen: '127.0.0.1:9002', admin_gui_url: adminGuiUrl})
      })
      after(() => node?.stop())
      const client = (): KongClient => node.client

      describe('Pre-flight request', () => {
        it('should return different allow-methods for specific route', async () => {
          let res = await client().send('OPTIONS', '/')
          resStatus(204, res)
          assert.equal(res.headers.get('Allow'), 'GET, HEAD, OPTIONS')
          assert.equal(res.headers.get('Access-Control-Allow-Methods'), 'GET, HEAD, OPTIONS')

          res = await client().send('OPTIONS', '/routes')
          resStatus(204, res)
          assert.equal(res.headers.get('Allow'), 'GET, HEAD, OPTIONS, POST')
          assert.equal(res.headers.get('Access-Control-Allow-Methods'), 'GET, HEAD, OPTIONS, POST')

          res = await client().send('OPTIONS', '/routes/test')
          resStatus(204, res)
          assert.equal(res.headers.get('Allow'), 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT')
          assert.equal(res.headers.get('Access-Control-Allow-Methods'), 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT')
        })

        it('should allow headers from the request', async () => {
          let res = await client().send('OPTIONS', '/', {headers: {}})
          resStatus(204, res)
          assert.equal(res.headers.get('Access-Control-Allow-Headers'), 'Content-Type')

          res = await client().send('OPTIONS', '/', {headers: {'Access-Control-Request-Headers': 'X-Header-1,X-Header-2'}})
          resStatus(204, res)
          assert.equal(res.headers.get('Access-Control-Allow-Headers'), 'X-Header-1,X-Header-2')
        })

        it('should return the correct |AC-Allow-Origin| header when "Origin" is present in request headers', async () => {
          const res = await client().send('OPTIONS', '/', {headers: {Origin: 'http://example.com'}})
          const expectedAllowOrigin = adminGuiUrl !== '' ? 'http://admin.api:9100' : 'http://example.com'
          resStatus(204, res)
          assert.equal(res.headers.get('Access-Control-Allow-Origin'), expectedAllowOrigin)
        })

        it('should return the correct |AC-Allow-Origin| header when "Origin" is absent in request headers', async () => {
          const res = await client().send('OPTIONS', '/', {headers: {}})
          const expectedAllowOrigin = adminGuiUrl !== '' ? 'http://admin.api:9100' : '*'
          resStatus(204, res)
          assert.equal(res.headers.get('Access-Control-Allow-Origin'), expectedAllowOrigin)
        })

        // not in Kong's file: an origin admin_gui_url names is the one allowed
        it('allows the request\'s Origin when admin_gui_url names it', async () => {
          const res = await client().send('OPTIONS', '/', {headers: {Origin: 'http://admin.api:9100'}})
          resStatus(204, res)
          assert.equal(res.headers.get('Access-Control-Allow-Origin'), 'http://admin.api:9100')
          assert.equal(res.headers.get('Access-Control-Allow-Credentials'), 'true')
        })
      })

      describe('Main request', () => {
        it('should not respond to |AC-Request-Method| or |AC-Request-Headers| headers', async () => {
          const res = await client().get('/', {headers: {'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'X-Header-1,X-Header-2'}})
          resStatus(200, res)
          assert.equal(res.headers.get('Access-Control-Allow-Methods'), null)
          assert.equal(res.headers.get('Access-Control-Allow-Headers'), null)
        })

        it('should return the correct |AC-Allow-Origin| header when "Origin" is present in request headers', async () => {
          const res = await client().get('/', {headers: {Origin: 'http://example.com'}})
          const expectedAllowOrigin = adminGuiUrl !== '' ? 'http://admin.api:9100' : 'http://example.com'
          resStatus(200, res)
          assert.equal(res.headers.get('Access-Control-Allow-Origin'), expectedAllowOrigin)
        })

        it('should return the correct |AC-Allow-Origin| header when "Origin" is absent in request headers', async () => {
          const res = await client().get('/', {headers: {}})
          const expectedAllowOrigin = adminGuiUrl !== '' ? 'http://admin.api:9100' : '*'
          resStatus(200, res)
          assert.equal(res.headers.get('Access-Control-Allow-Origin'), expectedAllowOrigin)
        })
      })
    })
  }
})
