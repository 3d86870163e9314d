/**
 * Kong's spec/03-plugins/04-file-log/01-log_spec.lua (3.9), ported: the same describe/it
 * titles and assertions, against a real node (Admin API over Postgres, its proxy, Kong's
 * mock upstream), strategy `postgres`. Kong's error log is the node's log here (its lines
 * at `error`, kept by the test). kctl runs no Lua and proxies no gRPC: the cases with
 * `custom_fields_by_lua` or `pre-function`, and the gRPC ones, are skipped, saying why.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, afterEach, before, beforeEach, describe, test as it} from 'node:test'
import {createLogger} from '../../../src/runtime/kit/log.js'
import {until} from '../../helpers/until.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'
const NO_LUA = 'kctl runs no Lua: `custom_fields_by_lua` is refused'
const NO_GRPC = 'not yet: kctl proxies no gRPC'

const prefix = mkdtempSync(join(tmpdir(), 'kctl-file-log-'))
/** Kong's `os.tmpname()`. */
const FILE_LOG_PATH = join(prefix, 'file-log.log')
/** Stands in for Kong's `/etc/shadow`: a file nobody but its owner (root) may write. */
const READ_ONLY = join(prefix, 'read-only')
const randomString = () => randomUUID().replace(/-/g, '')

/** The node's error log (Kong's `helpers.clean_logfile` empties it). */
const errorLog: string[] = []

/** Kong's `wait_for_json_log_entry`: the first JSON entry of the log file, once there is one. */
async function waitForJsonLogEntry(): Promise<any> {
  const data = await until('the log file holds a JSON entry', () => (existsSync(FILE_LOG_PATH) ? readFileSync(FILE_LOG_PATH, 'utf8').trim() : ''))
  return JSON.parse(data.split('\n')[0])
}

/** Kong's `wait_for_log_content`: the lines of `file` contain every one of `contains` and none of `notContains`. */
async function waitForLogContent(contains: string[], notContains: string[], msg: string, file = FILE_LOG_PATH): Promise<void> {
  await until(msg, () => {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
    return contains.every((s) => text.includes(s)) && notContains.every((s) => !text.includes(s))
  })
}

/** Kong's `assert.logfile().has.line(...)`: the node logged a line matching `re`. */
const waitForErrorLine = (re: RegExp) => until(`the node logs ${re}`, () => errorLog.some((l) => re.test(l)))

describe(`Plugin: file-log (log) [#${strategy}]`, () => {
  let node: PluginSpecNode

  before(async () => {
    writeFileSync(READ_ONLY, '')
    chmodSync(READ_ONLY, 0o400)
    node = await startPluginSpecNode({log: createLogger({level: 'error', write: (line) => errorLog.push(line)})})
    const bp = node.bp
    const fileLog = async (host: string, config: Record<string, unknown>) => {
      const route = await bp.routes.insert({hosts: [host]})
      await bp.plugins.insert({route: {id: route.id}, name: 'file-log', config})
    }
    await fileLog('file_logging.test', {path: FILE_LOG_PATH, reopen: true})
    // Kong's gRPC routes (tcp_logging_grpc.test, tcp_logging_grpcs.test) and its
    // `custom_fields_by_lua` routes (file_logging_by_lua.test, file_logging10.test) are left out
    await fileLog('file_logging2.test', {path: join(prefix, 'dir', 'file'), reopen: true})
    await fileLog('file_logging3.test', {path: join(prefix, 'dir') + '/', reopen: true})
    await fileLog('file_logging4.test', {path: FILE_LOG_PATH, reopen: false})
    await fileLog('file_logging5.test', {path: READ_ONLY, reopen: true})
    await fileLog('file_logging6.test', {path: '/dev/null', reopen: true})
  })
  after(async () => {
    await node?.close()
    rmSync(prefix, {recursive: true, force: true})
  })

  beforeEach(() => rmSync(FILE_LOG_PATH, {force: true}))
  afterEach(() => rmSync(FILE_LOG_PATH, {force: true}))

  const get = (host: string, uuid: string) => node.proxy.get('/status/200', {headers: {'file-log-uuid': uuid, Host: host}})

  it('logs to file', async () => {
    const uuid = randomString()
    resStatus(200, await get('file_logging.test', uuid))
    const logMessage = await waitForJsonLogEntry()
    assert.equal(logMessage.client_ip, '127.0.0.1')
    assert.equal(logMessage.request.headers['file-log-uuid'], uuid)
    assert.equal(typeof logMessage.request.size, 'number')
    assert.equal(typeof logMessage.response.size, 'number')
  })

  describe('custom log values by lua', () => {
    it('logs custom values to file', {skip: NO_LUA}, () => {})
    it('unsets existing log values', {skip: NO_LUA}, () => {})
    it('correct upstream status when we use response phase', {skip: `${NO_LUA}, and \`pre-function\` is not bundled`}, () => {})
  })

  it('logs to file #grpc', {skip: NO_GRPC}, () => {})
  it('logs to file #grpcs', {skip: NO_GRPC}, () => {})

  it('reopens file on each request', async () => {
    const uuid1 = randomUUID()
    resStatus(200, await get('file_logging.test', uuid1))
    await waitForLogContent([uuid1], [], 'log file contains 1st request ID')

    // remove the file to see whether it gets recreated
    rmSync(FILE_LOG_PATH)

    // Making the next request
    const uuid2 = randomUUID()
    resStatus(200, await get('file_logging.test', uuid2))
    const uuid3 = randomUUID()
    resStatus(200, await get('file_logging.test', uuid3))
    await waitForLogContent([uuid2, uuid3], [uuid1], 'log file contains 2nd and 3rd request IDs but not the 1st')
  })

  it("does not create log file if directory doesn't exist", async () => {
    errorLog.length = 0
    resStatus(200, await get('file_logging2.test', randomString()))
    await waitForErrorLine(/\[file-log\] failed to open the file: No such file or directory/)
  })

  it('the given path is not a file but a directory', async () => {
    errorLog.length = 0
    resStatus(200, await get('file_logging3.test', randomString()))
    await waitForErrorLine(/\[file-log\] failed to open the file: Is a directory/)
  })

  it("logs are lost if reopen = false and file doesn't exist", async () => {
    const uuid1 = randomUUID()
    rmSync(FILE_LOG_PATH, {force: true})
    resStatus(200, await get('file_logging4.test', uuid1))
    // Kong checks at once; the line is written after the response here, so the test waits
    // for it to reach the file the plugin still holds open (removed, seen through this
    // process's descriptors: the node runs in it), then checks that no file was made
    await until('the entry went to the removed file still open', () => deletedFileText(FILE_LOG_PATH).includes(uuid1))
    assert.equal(existsSync(FILE_LOG_PATH), false)
  })

  it('does not log if Kong has no write permissions to the file', {skip: process.getuid?.() === 0 ? 'the tests run as root, whom no file permission stops' : false}, async () => {
    errorLog.length = 0
    resStatus(200, await get('file_logging5.test', randomString()))
    await waitForErrorLine(/\[file-log\] failed to open the file: Permission denied/)
  })

  it('the given path is a character device file', async () => {
    const uuid = randomString()
    errorLog.length = 0
    resStatus(200, await get('file_logging6.test', uuid))
    // Kong watches its error log for 7 s; here a later request's entry in another file
    // shows that the log phase of this one is over
    const marker = randomString()
    resStatus(200, await get('file_logging.test', marker))
    await waitForLogContent([marker], [], 'the next request was logged')
    // file can be opened and written to without errors
    assert.equal(errorLog.some((l) => l.includes('[file-log] failed to open the file')), false)
    // but no actual content is written to the file
    await waitForLogContent([], [uuid], 'no content', '/dev/null')
  })
})

/** What this process's open descriptors on the removed `path` hold ('' when none is open). */
function deletedFileText(path: string): string {
  let text = ''
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue
    }
    if (target === `${path} (deleted)`) text += readFileSync(`/proc/self/fd/${fd}`, 'utf8')
  }
  return text
}
