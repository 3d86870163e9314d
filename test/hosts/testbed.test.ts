// The SSH test bed itself: hosts that are really apart (name, files, processes, no Node, no
// route out) and a `down` that leaves nothing behind.
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {execa} from 'execa'
import {leftovers, testbedUnavailable, up, type Testbed} from '../helpers/testbed.js'

/** A process that exists and is not a zombie (a killed orphan waits for init to reap it). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))
  } catch {
    return false
  }
}

describe('SSH test bed', {skip: testbedUnavailable()}, () => {
  let bed: Testbed
  before(async () => {
    bed = await up(2)
  })
  after(async () => {
    await bed?.down()
  })

  it('gives each host its own name, address, sshd and no Node', async () => {
    for (const h of bed.hosts) {
      const r = await execa('ssh', ['-F', bed.sshConfig, h.name, 'hostname; cat /proc/1/comm; command -v node || echo no-node'], {stdin: 'ignore'})
      assert.deepEqual(r.stdout.split('\n'), [h.name, 'sshd', 'no-node'])
      const byAddress = await execa('ssh', ['-F', bed.sshConfig, h.address, 'hostname'], {stdin: 'ignore'})
      assert.equal(byAddress.stdout, h.name)
    }
  })

  it('keeps each host’s files to itself and hides this checkout', async () => {
    const marker = `/opt/bed-marker-${process.pid}`
    assert.equal((await bed.exec('h1', `echo one > ${marker} && cat ${marker}`)).stdout, 'one')
    assert.equal((await bed.exec('h2', `test -e ${marker} && echo present || echo absent`)).stdout, 'absent')
    assert.equal(existsSync(marker), false)
    assert.equal((await bed.exec('h1', `test -e ${process.cwd()}/package.json && echo present || echo absent`)).stdout, 'absent')
  })

  it('gives each host its own processes and no route out', async () => {
    const ps = await bed.exec('h1', 'ls /proc | grep -c "^[0-9]"')
    assert.ok(Number(ps.stdout) < 20, `h1 sees ${ps.stdout} processes`)
    const route = await bed.exec('h1', 'ip route get 1.1.1.1 2>&1 || true')
    assert.match(route.stdout, /unreachable/)
  })

  it('down removes the namespaces, links and host processes', async () => {
    const sshd = await bed.exec('h2', 'cat /run/sshd.pid')
    assert.match(sshd.stdout, /^\d+$/)
    assert.notDeepEqual(leftovers(bed.prefix), [])
    const launchers = bed.hosts.map((h) => Number(readFileSync(join(h.hostKeyFile, '..', 'unshare.pid'), 'utf8')))
    await bed.down()
    assert.deepEqual(leftovers(bed.prefix), [])
    for (const pid of launchers) assert.ok(!running(pid), `host launcher ${pid} survived down`)
  })

  it('tears down the bed of a run that was killed without down', async () => {
    const helper = new URL('../helpers/testbed.js', import.meta.url).href
    const orphan = execa(process.execPath, ['--input-type=module', '-e', `const b = await (await import(${JSON.stringify(helper)})).up(1); console.log(b.prefix); setInterval(() => {}, 1000)`], {stdin: 'ignore', reject: false})
    const prefix = await new Promise<string>((resolve, reject) => {
      orphan.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()))
      orphan.once('exit', () => reject(new Error('the run exited before its bed was up')))
    })
    orphan.kill('SIGKILL')
    await orphan
    assert.notDeepEqual(leftovers(prefix), [])
    const next = await up(1)
    try {
      assert.deepEqual(leftovers(prefix), [])
    } finally {
      await next.down()
    }
  })
})
