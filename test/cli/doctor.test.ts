/** `kctl doctor` through the real CLI: machine checks, the spec's ports, a running cluster's endpoints. */
import assert from 'node:assert/strict'
import {createServer} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {createSandbox, type Sandbox} from '../helpers/kctl.js'
import {until} from '../helpers/until.js'

interface DoctorJson {
  checks: {name: string; ok: boolean; detail: string; fix: string | null}[]
  ok: boolean
}

describe('kctl doctor', () => {
  let sb: Sandbox
  const doctor = async (...args: string[]) => {
    const r = await sb.kctl('doctor', '--json', ...args)
    return {code: r.code, json: JSON.parse(r.stdout) as DoctorJson, stderr: r.stderr}
  }
  const check = (j: DoctorJson, name: string) => {
    const c = j.checks.find((x) => x.name === name)
    assert.ok(c, `no check ${name} in ${JSON.stringify(j.checks.map((x) => x.name))}`)
    return c
  }

  before(async () => {
    sb = await createSandbox()
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('without a kctl.yaml checks only this machine, and says so', async () => {
    const {code, json} = await doctor()
    assert.equal(code, 0, JSON.stringify(json, null, 2))
    assert.equal(json.ok, true)
    for (const c of json.checks) assert.deepEqual(Object.keys(c).sort(), ['detail', 'fix', 'name', 'ok'])
    assert.match(check(json, 'spec').detail, /machine checks only/)
    for (const name of ['node', 'postgres_binaries', 'disk_space']) assert.equal(check(json, name).ok, true, name)
    if (process.getuid?.() === 0) assert.equal(check(json, 'postgres_user').ok, true)
    assert.equal(json.checks.filter((c) => c.name.startsWith('port ')).length, 0)
  })

  it('a fresh sandbox with a spec passes every check, its ports included', async () => {
    await sb.writeSpec('doc')
    const {code, json} = await doctor()
    assert.equal(code, 0, JSON.stringify(json, null, 2))
    for (const p of Object.values(sb.ports)) assert.match(check(json, `port ${p}`).detail, /is free$/)
    const text = await sb.kctl('doctor')
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^ok +node +v\d+/m)
    assert.match(text.stdout, /All checks passed\./)
  })

  it('a port taken by another process fails that check, with the fix', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(sb.ports.admin, '127.0.0.1', resolve))
    try {
      const {code, json} = await doctor()
      assert.equal(code, 1)
      assert.equal(json.ok, false)
      const c = check(json, `port ${sb.ports.admin}`)
      assert.equal(c.ok, false)
      assert.match(c.detail, /admin_listen of node-1\) is in use/)
      assert.match(c.fix!, /spec\.nodes\[0\]\.admin_listen in kctl\.yaml/)
      assert.deepEqual(json.checks.filter((x) => !x.ok).map((x) => x.name), [`port ${sb.ports.admin}`])
      const text = await sb.kctl('doctor')
      assert.equal(text.code, 1)
      assert.match(text.stdout, new RegExp(`^FAIL +port ${sb.ports.admin} .*\\n +fix: Stop what listens on port ${sb.ports.admin}`, 'm'))
    } finally {
      await new Promise((r) => blocker.close(r))
    }
  })

  it('with the cluster running, its own ports pass and its endpoints are reported', async () => {
    const init = await sb.kctl('init')
    assert.equal(init.code, 0, init.stderr)
    await sb.kctl('nodes', '--json') // records the pids for cleanup
    const {code, json} = await doctor()
    assert.equal(code, 0, JSON.stringify(json, null, 2))
    assert.match(check(json, 'spec').detail, /cluster doc \(embedded\), running/)
    assert.match(check(json, `port ${sb.ports.proxy}`).detail, /held by this cluster's node-1 \(pid \d+\)/)
    assert.match(check(json, 'database').detail, /embedded Postgres \(pid \d+\) at 127\.0\.0\.1:\d+\/kong answers/)
    const node = check(json, 'node-1')
    assert.equal(node.ok, true)
    assert.match(node.detail, new RegExp(`status http://127.0.0.1:${sb.ports.status} ready`))
    assert.match(node.detail, new RegExp(`Admin API http://127.0.0.1:${sb.ports.admin} answers`))
    assert.match(node.detail, new RegExp(`proxy 127.0.0.1:${sb.ports.proxy} accepts connections`))
  })

  it('a node of the running cluster that died fails, with what to do', async () => {
    const r = await sb.kctl('nodes', '--json')
    const pid = (JSON.parse(r.stdout).nodes as {name: string; pid: number}[]).find((n) => n.name === 'node-1')!.pid
    process.kill(pid, 'SIGKILL')
    const {code, json} = await until('kctl doctor to fail node-1', () => doctor(), {ok: (d) => !check(d.json, 'node-1').ok})
    assert.equal(code, 1)
    assert.match(check(json, 'node-1').fix!, /kctl logs node-1.*kctl start node-1/)
  })
})
