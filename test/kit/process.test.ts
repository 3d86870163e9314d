/** Process identity: a pid is checked against its start time and command line before it counts. */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {after, describe, it} from 'node:test'
import {isSameProcess, launchedIdentity, processIdentity, psIdentity, signalProcess, terminate} from '../../src/kit/process.js'

const children: ChildProcess[] = []
const sleeper = (): ChildProcess => {
  const child = spawn('sleep', ['60'], {stdio: 'ignore'})
  children.push(child)
  return child
}

describe('process identity', () => {
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  })

  it('records the start and the command line, and matches only that process', () => {
    const child = sleeper()
    const id = processIdentity(child.pid)!
    assert.equal(id.pid, child.pid)
    assert.equal(id.command, 'sleep 60')
    assert.ok(id.start.length > 0)
    assert.deepEqual(processIdentity(child.pid), id, 'stable while it runs')
    assert.equal(isSameProcess(id), true)
    // The same pid with another start (a reused pid) or another command is not the same process.
    assert.equal(isSameProcess({...id, start: `${id.start}0`}), false)
    assert.equal(isSameProcess({...id, command: 'sleep 61'}), false)
    assert.equal(isSameProcess(undefined), false)
  })

  it('signals nothing when the recorded process is not the one running', async () => {
    const child = sleeper()
    const id = processIdentity(child.pid)!
    assert.equal(signalProcess({...id, start: 'other'}, 'SIGTERM'), false)
    assert.equal(await terminate({...id, command: 'node main.js'}, 'SIGTERM', 1000), 'gone')
    assert.equal(isSameProcess(id), true, 'still running')
    assert.equal(await terminate(id, 'SIGTERM', 5000), 'signalled')
    assert.equal(isSameProcess(id), false)
  })

  it('a process that is gone has no identity, and one gone at launch matches nothing', async () => {
    const child = spawn('true', [], {stdio: 'ignore'})
    await once(child, 'exit')
    assert.equal(processIdentity(child.pid), undefined)
    const id = await launchedIdentity(child.pid!)
    assert.equal(isSameProcess(id), false)
    assert.equal(signalProcess(id, 'SIGTERM'), false)
  })

  it("a launched process's identity is its program's: the command line it was started with", async () => {
    const child = sleeper()
    const id = await launchedIdentity(child.pid!, 'sleep 60')
    assert.equal(id.command, 'sleep 60')
    assert.equal(isSameProcess(id), true)
    child.kill()
  })

  it('the ps fallback (no /proc) reads the same command and a stable start', () => {
    const child = sleeper()
    const id = psIdentity(child.pid!)
    assert.ok(id, 'ps knows the process')
    assert.equal(id.command, 'sleep 60')
    assert.match(id.start, /^\w{3} \w{3} \d+ \d\d:\d\d:\d\d \d{4}$/)
    assert.deepEqual(psIdentity(child.pid!), id)
    assert.equal(psIdentity(2 ** 22 + 1), undefined)
  })
})
