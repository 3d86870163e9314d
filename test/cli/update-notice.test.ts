/**
 * The update notice through the real `bin/run.js`: only on a terminal (tmux), from what an
 * earlier run cached; silent under CI; never waiting on the registry.
 */
import assert from 'node:assert/strict'
import {mkdir, readFile, stat, writeFile} from 'node:fs/promises'
import {createServer, type Socket} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {processesMentioning, ROOT, scratchCli, type KctlRun} from '../helpers/kctl.js'
import {ensureTmux, startTmux} from '../status/tmux.js'
import {until} from '../helpers/until.js'

const scratch = scratchCli('kctl-usage-')
const kctl = scratch.kctl

describe('update notice', () => {
  /** A cache in which an earlier run recorded that the registry has kctl 99.0.0. */
  async function cacheWithNewerVersion(name: string): Promise<string> {
    const cache = join(scratch.dir, name)
    await mkdir(cache, {recursive: true})
    await writeFile(join(cache, 'version'), JSON.stringify({latest: '99.0.0', current: '0.0.1'}))
    return cache
  }

  it('is silent with CI set, and CI runs leave the registry alone', async () => {
    const cache = await cacheWithNewerVersion('cache-ci')
    const before = await readFile(join(cache, 'version'), 'utf8')
    const r = await kctl(['--version'], {KCTL_CACHE_DIR: cache, KCTL_NEW_VERSION_CHECK_FREQ: '0'})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, '')
    await assert.rejects(stat(join(cache, 'last-warning')), 'no notice recorded')
    assert.equal(await readFile(join(cache, 'version'), 'utf8'), before, 'no refresh started')
  })

  it('on a terminal: shown from the cache; with an empty cache kctl does not wait for a registry that never answers', async (t) => {
    ensureTmux()
    const cache = await cacheWithNewerVersion('cache-tty')
    const shown = startTmux('notice', `${process.execPath} ${join(ROOT, 'bin', 'run.js')} --version`, {cwd: scratch.dir, env: {KCTL_CACHE_DIR: cache, NO_COLOR: '1'}})
    t.after(() => shown.kill())
    const screen = await shown.waitFor((s) => /EXIT:\d/.test(s), 'kctl --version to end')
    assert.match(screen, /kctl 99\.0\.0 is available \(this is \d+\.\d+\.\d+\)/)
    assert.match(screen, /^kctl\/\d+\.\d+\.\d+ /m)
    assert.equal(shown.exitStatus(), 0)

    // A registry that accepts the connection and never answers.
    const sockets: Socket[] = []
    const registry = createServer((s) => sockets.push(s))
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r))
    const emptyCache = join(scratch.dir, 'cache-offline')
    t.after(async () => {
      for (const pid of await processesMentioning(emptyCache)) process.kill(pid, 'SIGKILL')
      for (const s of sockets) s.destroy()
      registry.close()
    })
    const port = (registry.address() as {port: number}).port
    const offline = startTmux('offline', `${process.execPath} ${join(ROOT, 'bin', 'run.js')} --version`, {cwd: scratch.dir, env: {KCTL_CACHE_DIR: emptyCache, KCTL_NPM_REGISTRY: `http://127.0.0.1:${port}`, NO_COLOR: '1'}})
    t.after(() => offline.kill())
    const done = await offline.waitFor((s) => /EXIT:\d/.test(s), 'kctl --version to end')
    assert.equal(offline.exitStatus(), 0, done)
    assert.doesNotMatch(done, /is available/)
    // The version check went out in the background; kctl ended without its answer.
    await until('the registry to be asked', () => sockets.length)
    assert.equal(sockets.length, 1, 'the registry was asked, by a detached process')
    assert.equal(sockets[0].destroyed, false, 'and has not answered')
  })
})
