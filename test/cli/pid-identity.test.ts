/**
 * A pid in state.json is not an identity: once a node is gone its pid can belong to anyone.
 * kctl records each process's start time and command line at launch and checks them before
 * reporting a process as running and before any signal.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {isAlive, isSameProcess, processIdentity} from '../../src/kit/process.js'
import {processesMentioning, type Sandbox} from '../helpers/kctl.js'
import {startCluster} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

interface Row {
  name: string
  pid: number | null
  state: string
}


describe('kctl checks a pid is still its process', () => {
  let sb: Sandbox
  let stranger: ChildProcess
  const stateFile = () => join(sb.dataDir, 'clusters', 'e2e', 'state.json')
  const readState = async () => JSON.parse(await readFile(stateFile(), 'utf8'))
  const rows = async (): Promise<Row[]> => {
    const r = await sb.kctl('nodes', '--json')
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout).nodes
  }
  const statusNodes = async (): Promise<{code: number; nodes: Row[]}> => {
    const r = await sb.kctl('status', '--json')
    return {code: r.code, nodes: JSON.parse(r.stdout).nodes}
  }

  before(async () => {
    sb = (await startCluster()).sandbox
    // An unrelated process of this test: the pid a dead node's pid may go to.
    stranger = spawn('sleep', ['300'], {stdio: 'ignore'})
  })
  after(async () => {
    if (stranger?.exitCode === null && stranger.signalCode === null) stranger.kill('SIGKILL')
    await sb?.cleanup()
  })

  it('state.json records each process with its start time and command line', async () => {
    const state = await readState()
    const node = state.nodes['node-1']
    assert.deepEqual(processIdentity(node.pid), {pid: node.pid, ...node.process})
    assert.match(node.process.command, /main\.js --conf .*node-1\/kong\.conf$/)
    assert.deepEqual(processIdentity(state.embedded.pid), {pid: state.embedded.pid, ...state.embedded.process})
    assert.ok(state.embedded.process.command.includes(`-D ${state.embedded.instance.dataDir}`))
  })

  it('a node that died is failed, and start brings it back', async () => {
    const [, node] = await rows()
    process.kill(node.pid!, 'SIGKILL')
    await until('the node to be gone', () => !isAlive(node.pid!))
    assert.deepEqual((await rows()).map((n) => [n.name, n.state, n.pid === null]), [['postgres', 'running', false], ['node-1', 'failed', true]])
    const status = await statusNodes()
    assert.equal(status.code, 1)
    assert.equal(status.nodes[0].state, 'failed')
    const start = await sb.kctl('start')
    assert.equal(start.code, 0, start.stderr)
    const now = await rows()
    assert.deepEqual(now.map((n) => n.state), ['running', 'running'])
    assert.notEqual(now[1].pid, node.pid)
  })

  it('a node whose pid went to another process is not running, and stop does not signal that process', async () => {
    const saved = await readState()
    const stop = await sb.kctl('stop', 'node-1')
    assert.equal(stop.code, 0, stop.stderr)
    // The node is gone; its recorded pid now belongs to an unrelated process.
    const state = await readState()
    state.nodes['node-1'] = {...saved.nodes['node-1'], pid: stranger.pid}
    await writeFile(stateFile(), JSON.stringify(state))
    assert.deepEqual((await rows()).map((n) => [n.name, n.state, n.pid]), [['postgres', 'running', saved.embedded.pid], ['node-1', 'failed', null]])
    const status = await statusNodes()
    assert.equal(status.code, 1)
    assert.deepEqual([status.nodes[0].state, status.nodes[0].pid], ['failed', null])
    const again = await sb.kctl('stop', 'node-1')
    assert.equal(again.code, 0, again.stderr)
    assert.equal(isAlive(stranger.pid), true, 'the unrelated process was not signalled')
    assert.equal((await rows())[1].state, 'stopped')
  })

  it('state from an earlier version (bare pids) keeps working: our processes are recognised, others are not', async () => {
    const start = await sb.kctl('start')
    assert.equal(start.code, 0, start.stderr)
    const before = await rows()
    const state = await readState()
    delete state.nodes['node-1'].process
    delete state.embedded.process
    await writeFile(stateFile(), JSON.stringify(state))
    assert.deepEqual(await rows(), before, 'bare pids of our own processes are adopted')
    state.nodes['node-1'].pid = stranger.pid
    await writeFile(stateFile(), JSON.stringify(state))
    assert.deepEqual((await rows()).map((n) => n.state), ['running', 'failed'], 'a bare pid of another process is not ours')
    // Put the real node back for the next test.
    state.nodes['node-1'].pid = before[1].pid
    await writeFile(stateFile(), JSON.stringify(state))
    assert.deepEqual(await rows(), before)
  })

  it('destroy --yes signals no process that took a recorded pid, and still stops and removes the cluster', async () => {
    const [db, node] = await rows()
    const nodeId = processIdentity(node.pid!)!
    // The node and Postgres records both point at the unrelated process now.
    const state = await readState()
    state.nodes['node-1'].pid = stranger.pid
    state.embedded.pid = stranger.pid
    await writeFile(stateFile(), JSON.stringify(state))
    assert.deepEqual((await rows()).map((n) => n.state), ['failed', 'failed'])
    const r = await sb.kctl('destroy', '--yes')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(isAlive(stranger.pid), true, 'the unrelated process was not signalled')
    // Postgres is found by its data dir and stopped before its data goes.
    assert.equal(isAlive(db.pid!), false, 'postgres stopped')
    assert.equal(existsSync(join(sb.dataDir, 'clusters', 'e2e')), false)
    // The node's record pointed elsewhere, so destroy could not reach it: end it here.
    assert.equal(isSameProcess(nodeId), true)
    process.kill(node.pid!, 'SIGTERM')
    await until('the node to be gone', () => !isSameProcess(nodeId))
    assert.deepEqual(await processesMentioning(sb.dir), [])
  })
})
