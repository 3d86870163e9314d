/** LocalHost: this machine behind the Host interface (real processes, files and sockets). */
import assert from 'node:assert/strict'
import {appendFile, mkdtemp, readFile, rm, stat, utimes, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {LocalHost} from '../../src/cluster/hosts/local.js'
import type {ProcessIdentity} from '../../src/kit/process.js'
import {until} from '../helpers/until.js'

const host = new LocalHost()
const launched: ProcessIdentity[] = []
const dirs: string[] = []
const scratch = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'kctl-host-'))
  dirs.push(d)
  return d
}

describe('LocalHost', () => {
  after(async () => {
    for (const p of launched) await host.terminate(p, 'SIGKILL', 2000)
    await host.close()
    for (const d of dirs) await rm(d, {recursive: true, force: true})
  })

  it('describes this machine', async () => {
    const f = await host.facts()
    assert.equal(host.name, 'local')
    assert.equal(host.isLocal, true)
    assert.equal(f.os, process.platform)
    assert.equal(f.arch, process.arch)
    assert.equal(f.nodeVersion, process.version)
    assert.equal(typeof f.systemd, 'boolean')
    assert.ok(f.hostname.length > 0)
  })

  it('runs a command with input; a failure throws naming the command, or is returned with reject false', async () => {
    const r = await host.run('sh', ['-c', 'cat; echo err >&2'], {input: 'from stdin'})
    assert.deepEqual(r, {exitCode: 0, stdout: 'from stdin', stderr: 'err'})
    await assert.rejects(host.run('sh', ['-c', 'echo broken >&2; exit 3']), (err: Error) => /sh -c echo broken >&2; exit 3 \(exit code 3\)/.test(err.message) && /broken/.test(err.message))
    const soft = await host.run('sh', ['-c', 'echo out; exit 4'], {reject: false})
    assert.equal(soft.exitCode, 4)
    assert.equal(soft.stdout, 'out')
  })

  it('spawns a detached process that keeps running, with its identity and its output in the log', async () => {
    const dir = await scratch()
    const log = join(dir, 'out.log')
    // It says when it started and, a while later, that it is still there.
    const script = "console.log('started'); setTimeout(() => console.log('still running'), 300); setTimeout(() => {}, 60000)"
    const id = await host.spawnDetached(process.execPath, ['-e', script], {logFile: log, cwd: dir})
    launched.push(id)
    assert.equal(id.pid > 0, true)
    assert.equal(id.command, `${process.execPath} -e ${script}`)
    assert.deepEqual(await host.processIdentity(id.pid), id)
    await until('the first log line', async () => (await host.readFile(log))?.toString().startsWith('started\n'))
    // Its own session: not in kctl's process group, so a Ctrl-C of kctl never reaches it.
    const pgid = (await host.run('ps', ['-o', 'pgid=', '-p', String(id.pid)])).stdout.trim()
    assert.equal(pgid, String(id.pid))
    // Detached means it outlives its start: its second line proves that time has passed.
    await until('the second log line', async () => (await host.readFile(log))?.toString() === 'started\nstill running\n')
    assert.equal(await host.isSameProcess(id), true, 'still running')
  })

  it('a process that exited at once gets an identity nothing matches', async () => {
    const dir = await scratch()
    const id = await host.spawnDetached('sh', ['-c', 'exit 0'], {logFile: join(dir, 'l')})
    await until('exit', async () => (await host.processIdentity(id.pid)) === undefined)
    assert.equal(await host.isSameProcess(id), false)
    assert.equal(await host.signal(id, 'SIGTERM'), false)
  })

  it('signals only the recorded process: another start or command line gets nothing', async () => {
    const dir = await scratch()
    const id = await host.spawnDetached('sleep', ['61'], {logFile: join(dir, 'l')})
    launched.push(id)
    assert.equal(await host.signal({...id, start: `${id.start}1`}, 'SIGTERM'), false)
    assert.equal(await host.terminate({...id, command: 'sleep 62'}, 'SIGTERM', 1000), 'gone')
    assert.equal(await host.isSameProcess(id), true, 'untouched')
    assert.equal(await host.terminate(id, 'SIGTERM', 5000), 'signalled')
    assert.equal(await host.isSameProcess(id), false)
  })

  it('writes files atomically with their mode and folders; reads, checks and removes them', async () => {
    const dir = await scratch()
    const key = join(dir, 'a', 'b', 'node.key')
    await host.writeFile(key, 'secret', {mode: 0o600})
    assert.equal((await stat(key)).mode & 0o777, 0o600)
    assert.equal((await host.readFile(key))?.toString(), 'secret')
    await host.writeFile(key, 'other', {mode: 0o640})
    assert.equal((await stat(key)).mode & 0o777, 0o640, 'the mode of a rewritten file is set too')
    assert.equal(await host.readFile(join(dir, 'missing')), undefined)
    await host.mkdir(join(dir, 'c', 'd'), {mode: 0o700})
    assert.equal((await stat(join(dir, 'c', 'd'))).mode & 0o777, 0o700)
    assert.equal(await host.exists(key), true)
    await host.remove(join(dir, 'a'))
    assert.equal(await host.exists(key), false)
    await host.remove(join(dir, 'a')) // absent: nothing
  })

  it('tail: the last lines, then a line appended while following', async () => {
    const dir = await scratch()
    const file = join(dir, 'node.log')
    await writeFile(file, 'one\ntwo\nthree\n')
    const still = await host.tail(file, {lines: 2, follow: false})
    const got: string[] = []
    for await (const l of still) got.push(l)
    assert.deepEqual(got, ['two', 'three'])
    const whole = await host.tail(file, {lines: 0, follow: false})
    const all: string[] = []
    for await (const l of whole) all.push(l)
    assert.deepEqual(all, ['one', 'two', 'three'], '0: every line')

    const t = await host.tail(file, {lines: 1, follow: true})
    const it = t[Symbol.asyncIterator]()
    assert.deepEqual(await it.next(), {value: 'three', done: false})
    await appendFile(file, 'four, written later\n')
    assert.deepEqual(await it.next(), {value: 'four, written later', done: false})
    await t.close()
    assert.equal((await it.next()).done, true, 'closed: the follow ends')
  })

  it('copyTree copies a tree with modes and skips files of the same size and sha256', async () => {
    const src = await scratch()
    const dest = join(await scratch(), 'install')
    await writeFile(join(src, 'main.js'), 'console.log(1)\n')
    await host.writeFile(join(src, 'bin', 'run'), '#!/bin/sh\n', {mode: 0o755})
    const first = await host.copyTree(src, dest)
    assert.equal(first.bytesSent, 'console.log(1)\n'.length + '#!/bin/sh\n'.length)
    assert.equal(await readFile(join(dest, 'main.js'), 'utf8'), 'console.log(1)\n')
    assert.equal((await stat(join(dest, 'bin', 'run'))).mode & 0o777, 0o755)
    const old = new Date(Date.now() - 3600_000)
    await utimes(join(dest, 'main.js'), old, old)
    assert.deepEqual(await host.copyTree(src, dest), {bytesSent: 0}, 'nothing new: nothing sent')
    assert.equal(Math.round((await stat(join(dest, 'main.js'))).mtimeMs / 1000), Math.round(old.getTime() / 1000), 'a skipped file is not rewritten')
    await writeFile(join(src, 'main.js'), 'console.log(2)\n') // same size, other bytes
    assert.deepEqual(await host.copyTree(src, dest), {bytesSent: 'console.log(2)\n'.length})
    assert.equal(await readFile(join(dest, 'main.js'), 'utf8'), 'console.log(2)\n')
  })

  it('copyTree copies several folders, each to its place below the destination', async () => {
    const a = await scratch()
    const b = await scratch()
    const dest = join(await scratch(), 'install')
    await writeFile(join(a, 'package.json'), '{}\n')
    await writeFile(join(b, 'index.js'), 'export {}\n')
    assert.deepEqual(await host.copyTree([{from: a, to: '.'}, {from: b, to: 'node_modules/x'}], dest), {bytesSent: '{}\n'.length + 'export {}\n'.length})
    assert.equal(await readFile(join(dest, 'package.json'), 'utf8'), '{}\n')
    assert.equal(await readFile(join(dest, 'node_modules', 'x', 'index.js'), 'utf8'), 'export {}\n')
    assert.deepEqual(await host.copyTree([{from: a, to: '.'}, {from: b, to: 'node_modules/x'}], dest), {bytesSent: 0})
  })

  it('portFree sees a listener; reach is the same address', async () => {
    const srv = createServer()
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    const port = (srv.address() as {port: number}).port
    try {
      assert.equal(await host.portFree('127.0.0.1', port), false)
    } finally {
      await new Promise((r) => srv.close(r))
    }
    assert.equal(await host.portFree('127.0.0.1', port), true)
    assert.deepEqual(await host.reach('127.0.0.1', port), {host: '127.0.0.1', port})
  })
})
