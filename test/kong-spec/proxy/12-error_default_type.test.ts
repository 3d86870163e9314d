/**
 * Kong's spec/02-integration/05-proxy/12-error_default_type_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy), strategy `postgres`. Kong's blackhole host (a connect that never completes) is a
 * loopback port whose accept queue is full (test/proxy/blackhole.ts). Kong's `res_status`
 * strips the body; so do these. The "Custom error templates" block writes Kong's fixtures
 * (`spec/fixtures/error_templates/`) to files and starts a proxy with the settings loaded
 * from kong.conf values naming them.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {request} from 'node:http'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadConf} from '../../../src/runtime/conf/load.js'
import {proxyOptionsOf} from '../../../src/runtime/proxy/server.js'
import {startBlackhole} from '../../proxy/blackhole.js'
import type {KongResponse} from '../admin-api/kong-client.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'
import {proxyWith, type ExtraProxy} from './proxy-node.js'

const strategy = 'postgres'

const XML_TEMPLATE = `<?xml version="1.0" encoding="UTF-8"?>
<error>
  <message>%s</message>
  <requestid>%s</requestid>
</error>`

const HTML_TEMPLATE = `<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>Error</title>
  </head>
  <body>
    <h1>Error</h1>
    <p>%s.</p>
    <p>request_id: %s</p>
  </body>
</html>`

const PLAIN_TEMPLATE = '%s\nrequest_id: %s'

const RESPONSE_CODE = 504
const RESPONSE_MESSAGE = 'The upstream server is timing out'
/** Kong's spec/fixtures/error_templates/error_template.{html,plain,json,xml}, byte for byte. */
const FIXTURES = {
  html: '<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Custom template</title>\n  </head>\n  <body>\n    <h1>Not the default</h1>\n    <p>%s.</p>\n    <p>request_id: %s</p>\n  </body>\n</html>',
  plain: 'custom plain template: %s\\n\nrequest_id: %s\\n',
  json: '{\n  "custom_template_message":"%s",\n  "request_id":"%s"\n}',
  xml: '<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>custom template</message>\n  <message>%s</message>\n  <message>%s</message>\n</error>',
}

const format = (template: string, ...values: string[]) => values.reduce((t, v) => t.replace('%s', v), template)
/** Kong's `assert.res_status`: the body, stripped. */
const body = (res: KongResponse) => resStatus(RESPONSE_CODE, res).trim()
const requestId = (res: KongResponse) => res.headers.get('X-Kong-Request-Id') ?? ''

describe(`Proxy errors Content-Type [#${strategy}]`, () => {
  let node: PluginSpecNode
  const cleanups: Array<() => unknown> = []
  before(async () => {
    node = await startPluginSpecNode()
    const blackhole = await startBlackhole({after: (fn) => cleanups.push(fn)})
    const service = await node.bp.services.insert({name: 'api-1', protocol: 'http', host: '127.0.0.1', port: blackhole.port, connect_timeout: 1})
    await node.bp.routes.insert({methods: ['GET', 'HEAD'], service: {id: service.id}})
  })
  after(async () => {
    for (const fn of cleanups) await fn()
    await node?.close()
  })

  describe('set via error_default_type', () => {
    let p: ExtraProxy
    before(async () => {
      p = await proxyWith(node, {errorDefaultType: 'text/html'})
    })
    after(() => p?.close())

    it('no Accept header uses error_default_type', async () => {
      const res = await p.proxy.get('/')
      assert.equal(body(res), format(HTML_TEMPLATE, RESPONSE_MESSAGE, requestId(res)))
    })

    it('HEAD request does not return a body', async () => {
      // KongClient reads a body; a HEAD is sent with node:http, which knows it has none
      const res = await new Promise<{status: number; body: string}>((resolve, reject) => {
        const req = request({host: '127.0.0.1', port: p.port, method: 'HEAD', path: '/'}, (r) => {
          let b = ''
          r.on('data', (c) => (b += c))
          r.on('end', () => resolve({status: r.statusCode ?? 0, body: b}))
        })
        req.on('error', reject)
        req.end()
      })
      assert.equal(res.status, RESPONSE_CODE)
      assert.equal(res.body, '')
    })
  })

  describe('not set explicitly', () => {
    it('default error_default_type = text/plain', async () => {
      const res = await node.proxy.get('/')
      assert.equal(body(res), format(PLAIN_TEMPLATE, RESPONSE_MESSAGE, requestId(res)))
    })

    describe('Accept header modified Content-Type', () => {
      it('text/html', async () => {
        const res = await node.proxy.get('/', {headers: {accept: 'text/html'}})
        assert.equal(body(res), format(HTML_TEMPLATE, RESPONSE_MESSAGE, requestId(res)))
      })

      it('application/json', async () => {
        const res = await node.proxy.get('/', {headers: {accept: 'application/json'}})
        assert.equal(JSON.parse(body(res)).message, RESPONSE_MESSAGE)
      })

      it('application/xml', async () => {
        const res = await node.proxy.get('/', {headers: {accept: 'application/xml'}})
        assert.equal(body(res), format(XML_TEMPLATE, RESPONSE_MESSAGE, requestId(res)))
      })
    })
  })

  describe('Custom error templates', () => {
    let p: ExtraProxy
    let dir: string
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kctl-error-templates-'))
      const paths: Record<string, string> = {}
      for (const [format, text] of Object.entries(FIXTURES)) {
        paths[format] = join(dir, `error_template.${format}`)
        writeFileSync(paths[format], text)
      }
      const conf = loadConf({env: {}, overrides: {error_template_html: paths.html, error_template_plain: paths.plain, error_template_json: paths.json, error_template_xml: paths.xml}})
      p = await proxyWith(node, proxyOptionsOf(conf))
    })
    after(async () => {
      await p?.close()
      if (dir) rmSync(dir, {recursive: true, force: true})
    })

    describe('Accept header modified Content-Type', () => {
      it('text/html', async () => {
        const res = await p.proxy.get('/', {headers: {accept: 'text/html'}})
        assert.equal(body(res), format(FIXTURES.html, RESPONSE_MESSAGE, requestId(res)))
      })

      it('text/plain', async () => {
        const res = await p.proxy.get('/', {headers: {accept: 'text/plain'}})
        assert.equal(body(res), format(FIXTURES.plain, RESPONSE_MESSAGE, requestId(res)))
      })

      it('application/json', async () => {
        const res = await p.proxy.get('/', {headers: {accept: 'application/json'}})
        assert.equal(JSON.parse(body(res)).custom_template_message, RESPONSE_MESSAGE)
      })

      it('application/xml', async () => {
        const res = await p.proxy.get('/', {headers: {accept: 'application/xml'}})
        assert.equal(body(res), format(FIXTURES.xml, RESPONSE_MESSAGE, requestId(res)))
      })

      describe('with q-values', () => {
        it('defaults to 1 when q-value is not specified', async () => {
          const res = await p.proxy.get('/', {headers: {accept: 'application/json;q=0.9,text/html,text/plain;q=0.9'}})
          assert.equal(body(res), format(FIXTURES.html, RESPONSE_MESSAGE, requestId(res)))
        })

        it('picks highest q-value (json)', async () => {
          const res = await p.proxy.get('/', {headers: {accept: 'text/plain;q=0.7,application/json;q=0.8,text/html;q=0.5'}})
          assert.equal(JSON.parse(body(res)).custom_template_message, RESPONSE_MESSAGE)
        })
      })
    })

    // not in Kong's file: a template that cannot be read or filled stops the node at start
    it('refuses a template file that cannot be read, or with directives other than %s and %%', () => {
      const missing = join(dir, 'missing.html')
      assert.throws(() => loadConf({env: {}, overrides: {error_template_html: missing}}), (err: Error) => err.message.includes(`error_template_html: cannot read '${missing}' (ENOENT)`))
      const bad = join(dir, 'bad.json')
      writeFileSync(bad, '{"message": "%s", "status": %d}')
      assert.throws(() => loadConf({env: {}, overrides: {error_template_json: bad}}), (err: Error) => err.message.includes(`error_template_json: in '${bad}', '%d' is not supported; use %s for the message`))
      const percent = join(dir, 'percent.plain')
      writeFileSync(percent, '100%% sure: %s (%s)')
      assert.equal(loadConf({env: {}, overrides: {error_template_plain: percent}}).error_template_plain, percent)
    })
  })
})
