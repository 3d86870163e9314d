// Preflight, host keys, `kctl hosts` and forwarding against real sshd hosts of the test bed,
// through the real CLI: each failure with its message, and nothing changed or left running
// on any host or here.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {SshHost} from '../../src/cluster/hosts/ssh.js'
import {checkClusterConnectivity} from '../../src/services/preflight.js'
import type {ClusterState} from '../../src/cluster/state.js'
import {defaultHostPaths} from '../../src/cluster/spec-hosts.js'
import {closeHosts} from '../../src/cluster/hosts/index.js'
import {processesMentioning, ROOT, runKctl} from '../helpers/kctl.js'
import {testbedUnavailable, up, type Testbed} from '../helpers/testbed.js'
import {until} from '../helpers/until.js'

const fingerprintOf = (pubFile: string): string => /(SHA256:\S+)/.exec(spawnSync('ssh-keygen', ['-lf', pubFile], {encoding: 'utf8'}).stdout)![1]

describe('preflight and host keys on the test bed', {skip: testbedUnavailable()}, () => {
  let bed: Testbed
  let dir: string
  /** Listeners started on bed hosts: [host, pid]. */
  const listeners: [string, number][] = []

  before(async () => {
    bed = await up(3)
    dir = mkdtempSync(join(tmpdir(), 'kctl-preflight-test-'))
  })
  after(async () => {
    for (const [h, pid] of listeners) await bed?.exec(h, `kill ${pid} 2>/dev/null; true`)
    await closeHosts()
    await bed?.down()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  const kctl = (args: string[], cwd: string) => runKctl(args, {cwd, env: {KCTL_DATA_DIR: join(cwd, 'data'), KCTL_CACHE_DIR: join(cwd, 'cache')}})

  /** A folder with a hybrid spec over h1 (database, cp-1), h2 (dp-1), h3 (dp-2); `ssh` overrides per host. */
  const project = (name: string, ssh: Record<number, string> = {}, common = ''): string => {
    const cwd = join(dir, name)
    spawnSync('mkdir', ['-p', cwd])
    const known = join(cwd, 'known_hosts')
    copyFileSync(bed.knownHosts, known)
    const hosts = bed.hosts.map((h, i) => `    - {name: ${h.name}, ssh: {${ssh[i + 1] ?? `address: ${h.address}`}}}`)
    writeFileSync(
      join(cwd, 'kctl.yaml'),
      `apiVersion: kctl/v1
kind: Cluster
metadata: {name: ${name}}
spec:
  mode: hybrid
  ssh: {user: root, identityFile: ${bed.key}, knownHostsFile: ${known}, configFile: /dev/null${common}}
  hosts:
${hosts.join('\n')}
  database: {embedded: true, host: h1}
  certificates: {mtls: shared, days: 30}
  nodes:
    - {name: cp-1, role: control_plane, host: h1}
    - {name: dp-1, role: data_plane, host: h2}
    - {name: dp-2, role: data_plane, host: h3}
`,
    )
    return cwd
  }

  /** Nothing of kctl on any bed host, no SSH session left to any of them, no local state or process. */
  const assertNothingChanged = async (cwd: string): Promise<void> => {
    for (const h of bed.hosts) {
      const r = await bed.exec(h.name, 'ls -d /opt/kctl /etc/kctl /var/lib/kctl 2>/dev/null; ps -eo args | grep "^sshd: root" || true')
      assert.equal(r.stdout.trim(), '', `${h.name} was changed or keeps a session: ${r.stdout}`)
    }
    assert.equal(existsSync(join(cwd, 'data', 'clusters')) && spawnSync('ls', [join(cwd, 'data', 'clusters')], {encoding: 'utf8'}).stdout.trim() !== '', false, 'a cluster state was left')
    assert.deepEqual(await processesMentioning(cwd), [])
  }

  it('kctl preflight passes every check on every host, and closes its connections at exit', async () => {
    const cwd = project('ok')
    const r = await kctl(['preflight', '--json'], cwd)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const j = JSON.parse(r.stdout)
    assert.equal(j.ok, true)
    assert.deepEqual(j.hosts.map((h: {name: string}) => h.name), ['local', 'h1', 'h2', 'h3'])
    for (const h of j.hosts.slice(1)) {
      assert.deepEqual(h.checks.map((c: {check: string; ok: boolean}) => [c.check, c.ok]), [['ssh', true], ['os', true], ['node', true], ['disk', true], ['clock', true], ['ports', true]])
      assert.match(h.checks[2].found, /^no node; kctl uploads its own/)
    }
    assert.match(j.hosts[2].checks.find((c: {check: string}) => c.check === 'ports').found, /^8000, 8443, 8007 free$/)
    await assertNothingChanged(cwd)
  })

  it('init refuses before changing anything when a port the spec gives a host is in use there', async () => {
    const cwd = project('port')
    const pid = Number((await bed.exec('h2', `setsid perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr=>"0.0.0.0",LocalPort=>8000,Listen=>5,ReuseAddr=>1) or die; sleep 3600' >/dev/null 2>&1 </dev/null & echo $!`)).stdout.trim())
    listeners.push(['h2', pid])
    await until('the listener on h2', async () => (await bed.exec('h2', 'cat /proc/net/tcp')).stdout.includes(':1F40 00000000:0000 0A'))
    const r = await kctl(['init', '--json'], cwd)
    assert.equal(r.code, 1, r.stdout + r.stderr)
    const e = JSON.parse(r.stdout).error
    assert.equal(e.code, 'PREFLIGHT_FAILED')
    assert.match(e.message, /^Preflight found a problem on host h2; nothing was changed on any host\./)
    assert.match(e.message, /h2 ports: port 8000 \(proxy_listen of dp-1\) is in use\.\n {4}Stop what listens on port 8000 on h2, or change spec\.nodes\[1\]\.proxy_listen in the spec\./)
    assert.match(e.hint, /kctl preflight/)
    await bed.exec('h2', `kill ${pid}`)
    await assertNothingChanged(cwd)
  })

  it('an unreachable host: named, with what to check, nothing changed elsewhere', async () => {
    const cwd = project('unreachable', {3: `address: ${bed.subnet}.99`}, ', port: 22')
    const r = await kctl(['init', '--json'], cwd)
    assert.equal(r.code, 1, r.stdout + r.stderr)
    const e = JSON.parse(r.stdout).error
    assert.equal(e.code, 'PREFLIGHT_FAILED')
    assert.match(e.message, new RegExp(`h3 ssh: Can't reach host h3 \\(${bed.subnet.replace(/\./g, '\\.')}\\.99\\) over SSH \\((No route to host|Connection timed out|Connection refused)\\)`))
    assert.deepEqual(e.details.failed.map((c: {host: string; check: string; code: string}) => [c.host, c.check, c.code]), [['h3', 'ssh', 'HOST_UNREACHABLE']])
    await assertNothingChanged(cwd)
  })

  it('a refused authentication: named, with the key to check', async () => {
    const cwd = project('auth')
    const other = join(cwd, 'id_other')
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    writeFileSync(join(cwd, 'kctl.yaml'), readFileSync(join(cwd, 'kctl.yaml'), 'utf8').replace(`{address: ${bed.hosts[1].address}}`, `{address: ${bed.hosts[1].address}, identityFile: ${other}}`))
    const r = await kctl(['init', '--json'], cwd)
    assert.equal(r.code, 1, r.stdout + r.stderr)
    const e = JSON.parse(r.stdout).error
    assert.match(e.message, /h2 ssh: SSH authentication to host h2 \(.*\) was refused \(the host accepts: publickey\)\.\n {4}Check the user and key for h2/)
    assert.deepEqual(e.details.failed.map((c: {host: string; code: string}) => [c.host, c.code]), [['h2', 'HOST_AUTH_FAILED']])
    await assertNothingChanged(cwd)
  })

  it('a changed host key is refused, even with --accept-new-host-keys', async () => {
    const cwd = project('changed')
    const known = join(cwd, 'known_hosts')
    // h1's address recorded with h2's key: what a reinstalled (or impersonated) host looks like.
    const h2Key = readFileSync(bed.hosts[1].hostKeyFile, 'utf8').split(' ').slice(0, 2).join(' ')
    writeFileSync(known, `${bed.hosts[0].address} ${h2Key}\n${readFileSync(known, 'utf8').split('\n').filter((l) => l && !l.startsWith(`${bed.hosts[0].address} `) && !l.startsWith('h1 ') && !l.startsWith('h1,')).join('\n')}\n`)
    const r = await kctl(['init', '--json', '--accept-new-host-keys'], cwd)
    assert.equal(r.code, 1, r.stdout + r.stderr)
    const e = JSON.parse(r.stdout).error
    assert.match(e.message, new RegExp(`h1 ssh: The SSH host key of host h1 \\(${bed.hosts[0].address.replace(/\./g, '\\.')}\\) has CHANGED: it now presents ED25519 key ${fingerprintOf(bed.hosts[0].hostKeyFile).replace(/[+/]/g, '\\$&')}`))
    assert.deepEqual(e.details.failed.map((c: {host: string; code: string}) => [c.host, c.code]), [['h1', 'HOST_KEY_CHANGED']])
    await assertNothingChanged(cwd)
  })

  it('an unknown host key names the host and fingerprint and points to --accept-new-host-keys, which records it', async () => {
    const cwd = project('unknown')
    const known = join(cwd, 'known_hosts')
    writeFileSync(known, '')
    const refused = await kctl(['hosts', '--json'], cwd)
    assert.equal(refused.code, 0, refused.stderr)
    const h3 = JSON.parse(refused.stdout).hosts[3]
    assert.equal(h3.reachable, false)
    assert.match(h3.error, new RegExp(`The SSH host key of host h3 .* is not known: it presents ED25519 key ${fingerprintOf(bed.hosts[2].hostKeyFile).replace(/[+/]/g, '\\$&')}`))
    const pre = await kctl(['preflight'], cwd)
    assert.equal(pre.code, 1)
    assert.match(pre.stderr, /run again with --accept-new-host-keys/)

    const accepted = await kctl(['hosts', '--json', '--accept-new-host-keys'], cwd)
    assert.equal(accepted.code, 0, accepted.stderr)
    assert.deepEqual(JSON.parse(accepted.stdout).hosts.map((h: {reachable: boolean}) => h.reachable), [true, true, true, true])
    for (const h of bed.hosts) assert.ok(readFileSync(known, 'utf8').includes(h.address), `${h.name} not recorded`)
    // Recorded: the next run needs no flag.
    const again = await kctl(['preflight', '--json'], cwd)
    assert.equal(again.code, 0, again.stdout)
    await assertNothingChanged(cwd)
  })

  it('kctl hosts shows what kctl installed on each host and which version is current', async () => {
    const cwd = project('installed')
    await bed.exec('h2', 'mkdir -p /opt/kctl/0.1.0 /opt/kctl/0.10.0 /opt/kctl/0.9.1 && ln -sfn 0.10.0 /opt/kctl/current')
    try {
      const r = await kctl(['hosts', '--json'], cwd)
      assert.equal(r.code, 0, r.stderr)
      const hosts = JSON.parse(r.stdout).hosts
      assert.equal(hosts[0].installed, null)
      assert.deepEqual(hosts[1].installed, {path: '/opt/kctl', current: null, versions: []})
      assert.deepEqual(hosts[2].installed, {path: '/opt/kctl', current: '0.10.0', versions: ['0.1.0', '0.9.1', '0.10.0']})
      const text = await kctl(['hosts'], cwd)
      assert.match(text.stdout, new RegExp(`^h2 +${bed.hosts[1].address.replace(/\./g, '\\.')} +yes +linux/${process.arch} +- +0\\.10\\.0\\*, 0\\.9\\.1, 0\\.1\\.0 +dp-1$`, 'm'))
    } finally {
      await bed.exec('h2', 'rm -rf /opt/kctl')
    }
  })

  it('SIGTERM while a command is connected to a host: its SSH master and control folder go with it', async () => {
    // h2 is a listener that accepts and never speaks SSH: preflight waits for it while h1's master is open
    const {createServer} = await import('node:net')
    const held = new Set<import('node:net').Socket>()
    const silent = createServer((s) => held.add(s))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const cwd = project('sigterm', {2: `address: 127.0.0.1, port: ${(silent.address() as {port: number}).port}`})
    const {spawn} = await import('node:child_process')
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'preflight'], {cwd, env: {...process.env, KCTL_DATA_DIR: join(cwd, 'data'), CI: 'true'}, stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout!.on('data', (d: Buffer) => (output += d))
    child.stderr!.on('data', (d: Buffer) => (output += d))
    const exited = new Promise<number | null>((resolve) => child.once('close', (code, sig) => resolve(code ?? (sig ? -1 : null))))
    try {
      // The master ssh moved to the background names itself `ssh: <control path> [mux]`; this
      // preflight's is the one connected to h1's sshd (h2 never gets one).
      const masterOf = async (): Promise<{pid: number; dir: string} | undefined> => {
        const toH1 = spawnSync('ss', ['-tnpH', 'state', 'established', 'dst', `${bed.hosts[0].address}:22`], {encoding: 'utf8'}).stdout ?? ''
        for (const pid of await processesMentioning('/tmp/kctl-ssh-')) {
          const dir = /^ssh: (\/tmp\/kctl-ssh-[^/]+)\/m \[mux\]/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1]
          if (dir && toH1.includes(`pid=${pid},`)) return {pid, dir}
        }
        return undefined
      }
      const master = (await until('the master connection to h1', masterOf, {timeoutMs: 60_000})) as {pid: number; dir: string}
      assert.ok(existsSync(master.dir))
      assert.equal(child.exitCode, null, 'preflight still waits for h2')
      child.kill('SIGTERM')
      assert.equal(await exited, 143, output)
      assert.equal(existsSync(master.dir), false, `${master.dir} is left`)
      await until('the master connection to end', async () => !existsSync(`/proc/${master.pid}`), {timeoutMs: 10_000})
      // h1's sshd ends the session once it sees the connection closed
      const sessions = async () => (await bed.exec('h1', 'ps -eo args')).stdout.split('\n').filter((l) => l.startsWith('sshd: root')).length
      await until("h1's SSH session to end", async () => ((await sessions()) === 0 ? true : undefined), {timeoutMs: 10_000})
    } finally {
      child.kill('SIGKILL')
      for (const s of held) s.destroy()
      silent.close()
    }
  })

  describe('after the database and control planes are up', () => {
    const sshOf = (n: number) => ({address: bed.hosts[n - 1].address, user: 'root', identityFile: bed.key, knownHostsFile: bed.knownHosts, configFile: '/dev/null'})
    /** A cluster state with cp-1 on h1 (cluster port `cluster`) and dp-1 on h2; the database at h1:`db`. */
    const stateOf = (cluster: number, db: number): ClusterState =>
      ({
        version: 1,
        name: 'conn',
        mode: 'hybrid',
        specPath: join(dir, 'conn.yaml'),
        createdAt: new Date().toISOString(),
        connection: {host: bed.hosts[0].address, port: db, user: 'kong', password: 'x', database: 'kong'},
        hosts: Object.fromEntries([1, 2].map((n) => [`h${n}`, {name: `h${n}`, ssh: sshOf(n), paths: defaultHostPaths('conn')}])),
        nodes: {
          'cp-1': {role: 'control_plane', host: 'h1', intent: 'running', listen: {cluster: `0.0.0.0:${cluster}`}, prefix: '/var/lib/kctl/conn/nodes/cp-1', confPath: '/etc/kctl/conn/nodes/cp-1/kong.conf', logFile: '/var/lib/kctl/conn/nodes/cp-1/logs/error.log'},
          'dp-1': {role: 'data_plane', host: 'h2', intent: 'running', listen: {proxy: '0.0.0.0:8000'}, prefix: '/var/lib/kctl/conn/nodes/dp-1', confPath: '/etc/kctl/conn/nodes/dp-1/kong.conf', logFile: '/var/lib/kctl/conn/nodes/dp-1/logs/error.log'},
        },
      }) as unknown as ClusterState

    it('a data plane host that reaches the control plane’s cluster port passes; one that cannot is named with what to do', async () => {
      const port = 18005 + (process.pid % 500)
      const pid = Number((await bed.exec('h1', `setsid perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr=>"0.0.0.0",LocalPort=>${port},Listen=>5,ReuseAddr=>1) or die; while (my $c = $s->accept) { close $c }' >/dev/null 2>&1 </dev/null & echo $!`)).stdout.trim())
      listeners.push(['h1', pid])
      await until('the listener on h1', async () => (await bed.exec('h1', 'cat /proc/net/tcp')).stdout.includes(`:${port.toString(16).toUpperCase()} 00000000:0000 0A`))
      const ok = await checkClusterConnectivity(stateOf(port, 5432), {nodes: ['dp-1']})
      assert.deepEqual(ok.map((c) => [c.host, c.check, c.ok, c.found]), [['h2', 'connectivity', true, `dp-1 reaches the cluster port of cp-1 at ${bed.hosts[0].address}:${port}`]])

      await bed.exec('h1', `kill ${pid}`)
      await assert.rejects(checkClusterConnectivity(stateOf(port, 5432), {nodes: ['dp-1']}), (err: Error & {code?: string}) => {
        assert.equal(err.code, 'CONNECTIVITY_FAILED')
        assert.match(err.message, new RegExp(`h2 connectivity: dp-1 cannot reach the cluster port of cp-1 at ${bed.hosts[0].address.replace(/\./g, '\\.')}:${port} \\(Connection refused\\)\\.\\n {4}Let h2 \\(`))
        return true
      })
    })
  })

  it('forwards a local port to a server on a host’s loopback over the master connection, and ends it on close', async () => {
    const port = 18500 + (process.pid % 500)
    const h = new SshHost('h3', {address: bed.hosts[2].address, user: 'root', identityFile: bed.key, knownHostsFile: bed.knownHosts, configFile: '/dev/null'})
    const pid = Number((await bed.exec('h3', `setsid perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr=>"127.0.0.1",LocalPort=>${port},Listen=>5,ReuseAddr=>1) or die; while (my $c = $s->accept) { print $c "hello from h3\\n"; close $c }' >/dev/null 2>&1 </dev/null & echo $!`)).stdout.trim())
    listeners.push(['h3', pid])
    let local = 0
    try {
      await until('the listener on h3', async () => !(await h.portFree('127.0.0.1', port)))
      const to = await h.reach('127.0.0.1', port)
      local = to.port
      assert.equal(to.host, '127.0.0.1')
      const read = async (): Promise<string> => {
        const {connect} = await import('node:net')
        return new Promise((resolve, reject) => {
          const s = connect(to.port, to.host)
          let data = ''
          s.on('data', (d) => (data += String(d)))
          s.on('end', () => resolve(data))
          s.on('error', reject)
        })
      }
      assert.equal(await read(), 'hello from h3\n')
    } finally {
      await h.close()
    }
    const {connect} = await import('node:net')
    const refused = await new Promise<string>((resolve) => {
      const s = connect(local, '127.0.0.1')
      s.on('connect', () => (s.destroy(), resolve('connected')))
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    })
    assert.equal(refused, 'ECONNREFUSED', 'the forwarded port outlived close')
    // the host's sshd ends the session once it sees the connection closed: a moment later
    const sessions = async () => (await bed.exec('h3', 'ps -eo args')).stdout.split('\n').filter((l) => l.startsWith('sshd: root')).length
    await until('the master connection to end on h3', sessions, {ok: (n) => n === 0, timeoutMs: 10_000})
  })
})
