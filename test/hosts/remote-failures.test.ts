// Failures in the middle of `kctl init` on the SSH test bed, after preflight passed: a data
// plane host that cannot reach the control plane's cluster port, and the database host going
// down. Each ends with a message naming the host, and nothing of the run left on any host
// that is still up, nor here.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createSandbox, processesMentioning, ROOT, type Sandbox} from '../helpers/kctl.js'
import {bedSpec, HYBRID_ON_THREE_HOSTS, kctlTraces, testbedUnavailable, up, type Testbed} from '../helpers/testbed.js'
import {until} from '../helpers/until.js'

const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe('init failing on the test bed after preflight', {skip: testbedUnavailable(), timeout: 900_000}, () => {
  let bed: Testbed
  const sandboxes: Sandbox[] = []
  const addr = (n: number): string => bed.hosts[n - 1].address
  const baseline: Record<string, string> = {}

  before(async () => {
    bed = await up(3)
    for (const h of ['h1', 'h2', 'h3']) baseline[h] = await kctlTraces(bed, h)
  })
  after(async () => {
    for (const sb of sandboxes) await sb.cleanup()
    await bed?.down()
  })

  /** A sandbox with a hybrid spec: the database and cp-1 on h1, dp-1 on h2, dp-2 on h3. */
  const project = async (name: string): Promise<Sandbox> => {
    const sb = await createSandbox()
    sandboxes.push(sb)
    await writeFile(
      join(sb.cwd, 'kctl.yaml'),
      bedSpec(bed, {name, mode: 'hybrid', body: HYBRID_ON_THREE_HOSTS}),
    )
    return sb
  }

  /** Nothing of kctl on these hosts, no cluster state and no process of this run here (ssh masters included). */
  const assertNothingLeft = async (sb: Sandbox, hosts: string[]): Promise<void> => {
    for (const h of hosts) assert.equal(await kctlTraces(bed, h), baseline[h], `nothing of kctl's left on ${h}`)
    assert.equal(existsSync(join(sb.dataDir, 'clusters')), false, 'no cluster state left here')
    assert.deepEqual(await processesMentioning(sb.dir), [])
    assert.deepEqual(await processesMentioning(`${bed.subnet}.1`), [], 'no SSH connection to a bed host left open')
  }

  it('a data plane host that cannot reach the control plane’s cluster port: named with what to do, everything the run started stopped', async () => {
    const sb = await project('nocp')
    // h2 has no route to h1 any more (a firewall between them); this machine still reaches both.
    await bed.exec('h2', `ip route add unreachable ${addr(1)}/32`)
    try {
      const r = await sb.kctl('init', '--json')
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`)
      const e = JSON.parse(r.stdout).error
      assert.equal(e.code, 'CONNECTIVITY_FAILED')
      assert.match(e.message, new RegExp(`^A node cannot reach what it needs:\\n  h2 connectivity: dp-1 cannot reach the cluster port of cp-1 at ${re(addr(1))}:8005 \\(No route to host\\)\\.\\n {4}Let h2 \\(${re(addr(2))}\\) reach ${re(addr(1))}:8005: open that port in the firewall between them`))
      assert.doesNotMatch(e.message, /dp-2|h3/, 'h3 reaches the control plane')
      assert.match(e.hint, /what this run had started was stopped again/)
    } finally {
      await bed.exec('h2', `ip route del unreachable ${addr(1)}/32`)
    }
    await assertNothingLeft(sb, ['h1', 'h2', 'h3'])
  })

  it('the database host going down during init: named, and nothing left on the other hosts or here', async () => {
    const sb = await project('nodb')
    // without --json: the progress lines on stderr say when the database phase begins
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'init'], {cwd: sb.cwd, env: {...process.env, KCTL_DATA_DIR: sb.dataDir, CI: 'true', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? -1)))
    // h1 crashes once the run starts the database there
    await until('init to reach the database phase', async () => /^\S+ Database$/m.test(stderr) || child.exitCode !== null, {timeoutMs: 600_000})
    assert.equal(child.exitCode, null, `init ended before the database phase:\n${stdout}\n${stderr}`)
    await bed.poweroff('h1')
    const code = await exited
    assert.equal(code, 1, `${stdout}\n${stderr}`)
    const failure = stderr.slice(stderr.search(/^\S+ Database$/m))
    assert.match(failure, new RegExp(`host h1 \\(${re(addr(1))}\\)`), failure)
    assert.match(failure, /Is the host up/, failure)
    await assertNothingLeft(sb, ['h2', 'h3'])
  })
})
