// SshHost against real sshd hosts of the test bed: every Host operation, the host key policy,
// authentication and network failures.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ExternalError} from '../../src/kit/errors.js'
import {SshHost, type SshConnectOptions, type SshTarget} from '../../src/cluster/hosts/ssh.js'
import {until} from '../helpers/until.js'
import {testbedUnavailable, up, type Testbed} from '../helpers/testbed.js'

const fingerprintOf = (pubFile: string): string => /(SHA256:\S+)/.exec(spawnSync('ssh-keygen', ['-lf', pubFile], {encoding: 'utf8'}).stdout)![1]

describe('SshHost on the test bed', {skip: testbedUnavailable()}, () => {
  let bed: Testbed
  let scratch: string
  const opened: SshHost[] = []

  before(async () => {
    bed = await up(2)
    scratch = mkdtempSync(join(tmpdir(), 'kctl-ssh-test-'))
  })
  after(async () => {
    await Promise.all(opened.map((h) => h.close()))
    await bed?.down()
    if (scratch) rmSync(scratch, {recursive: true, force: true})
  })

  /** hN by address, with the bed's key and known_hosts, and no ssh config of this machine. */
  const host = (n: number, target: Partial<SshTarget> = {}, options: SshConnectOptions = {}): SshHost => {
    const h = new SshHost(`h${n}`, {address: bed.hosts[n - 1].address, user: 'root', identityFile: bed.key, knownHostsFile: bed.knownHosts, configFile: '/dev/null', ...target}, {connectTimeoutS: 5, ...options})
    opened.push(h)
    return h
  }
  const h1 = (): SshHost => (shared ??= host(1))
  let shared: SshHost | undefined

  describe('commands', () => {
    it('reads the host’s facts', async () => {
      const facts = await h1().facts()
      assert.deepEqual(facts, {os: 'linux', arch: process.arch, nodeVersion: undefined, systemd: false, hostname: 'h1'})
    })

    it('connects through an alias of an ssh config file and learns its address', async () => {
      const h = new SshHost('edge', {host: 'h2', configFile: bed.sshConfig})
      opened.push(h)
      assert.equal((await h.run('uname', ['-n'])).stdout, 'h2')
      assert.equal(h.address, bed.hosts[1].address)
    })

    it('passes arguments to the program exactly, whatever the remote shell would make of them', async () => {
      const args = ['a b', "it's", '$HOME', '`id`', 'x;y', '*', 'line\nbreak', '', '-n', '"q"']
      const r = await h1().run('printf', ['%s|', ...args])
      assert.equal(r.stdout, args.map((a) => `${a}|`).join(''))
    })

    it('runs in a folder with extra environment and stdin, and reports exit codes', async () => {
      const r = await h1().run('sh', ['-c', 'pwd; echo "$GREETING"; cat'], {cwd: '/etc', env: {GREETING: 'hello there'}, input: 'from stdin'})
      assert.equal(r.stdout, '/etc\nhello there\nfrom stdin')
      const failed = await h1().run('sh', ['-c', 'echo oops >&2; exit 7'], {reject: false})
      assert.deepEqual({code: failed.exitCode, err: failed.stderr}, {code: 7, err: 'oops'})
      await assert.rejects(h1().run('sh', ['-c', 'exit 3']), (err: unknown) => err instanceof ExternalError && err.code === 'COMMAND_FAILED' && /host h1/.test(err.message) && /exit code 3/.test(err.message))
    })

    it('stops a command at its timeout, on the host too', async () => {
      await assert.rejects(h1().run('sleep', ['77'], {timeoutMs: 1000}), (err: unknown) => err instanceof ExternalError && /host h1/.test(err.message) && /timed out after 1000 ms/.test(err.message))
      assert.ok(!(await bed.exec('h1', 'ps -eo args')).stdout.includes('sleep 77'), 'the remote command outlived its timeout')
    })

    it('closes its master connection on close', async () => {
      const sessions = async (): Promise<number> => (await bed.exec('h2', 'ps -eo args')).stdout.split('\n').filter((l) => l.startsWith('sshd: root')).length
      const before = await sessions()
      const h = host(2)
      await h.facts()
      assert.equal(await sessions(), before + 1)
      await h.close()
      await until('the connection to h2 to close', async () => (await sessions()) === before)
    })

    it('runs scripts one after another through one shell kept open, output and exit codes as each script gave them', async () => {
      const h = host(2)
      await h.facts()
      const outputs = []
      for (let i = 0; i < 20; i++) outputs.push((await h.run('sh', ['-c', `printf '${i}\\n\\n'; echo err${i} >&2; exit ${i % 4}`], {reject: false})))
      assert.deepEqual(outputs.map((r) => [r.stdout, r.stderr, r.exitCode]), outputs.map((_, i) => [`${i}\n`, `err${i}`, i % 4]))
      // the shells this connection keeps on h2: one, for twenty commands in a row
      const shells = (await bed.exec('h2', "ps -eo ppid=,args= | awk '$2 == \"sh\" && NF == 2 {print $1}'")).stdout.split('\n').filter(Boolean)
      assert.equal(shells.length, 1, `shells on h2: ${shells.length}`)
      assert.equal((await h.run('printf', ['%s', 'no newline'])).stdout, 'no newline')
      assert.equal((await h.run('true', [])).stdout, '')
      await h.close()
      await until('the shell on h2 to end', async () => !(await bed.exec('h2', 'ps -eo args=')).stdout.split('\n').includes('sh'))
    })

    it('goes on after a cancelled command (its shell is replaced), and a finished command\'s signal cancels nothing later', async () => {
      const h = host(1)
      const first = new AbortController()
      assert.equal((await h.run('echo', ['one'], {signal: first.signal})).stdout, 'one')
      const cancel = new AbortController()
      setTimeout(() => cancel.abort(), 300)
      await assert.rejects(h.run('sleep', ['30'], {signal: cancel.signal}), /cancelled/)
      const later = h.run('sh', ['-c', 'sleep 0.5; echo later'])
      first.abort()
      assert.equal((await later).stdout, 'later')
      assert.equal((await h.run('echo', ['still here'])).stdout, 'still here')
    })

    it('keeps a background process\'s later output out of the next commands, and brings large output back whole', async () => {
      const h = host(1)
      await h.run('sh', ['-c', '(sleep 0.3; echo LATE; echo LATEERR >&2) >/dev/null 2>&1 </dev/null & (sleep 0.3; echo LATE2; echo LATEERR2 >&2) &'])
      await new Promise((r) => setTimeout(r, 600))
      const next = await h.run('sh', ['-c', 'echo next; echo nexterr >&2'])
      assert.deepEqual([next.stdout, next.stderr], ['next', 'nexterr'])
      const path = `/srv/kctl-test-${process.pid}/big.bin`
      const big = randomBytes(8 * 1024 * 1024)
      await h.writeFile(path, big)
      const back = await h.readFile(path)
      assert.ok(back !== undefined && back.equals(big), 'the 8 MB file came back changed')
    })

    it('runs many commands at once over the one connection, none falling back to another', async () => {
      const results = await Promise.all(Array.from({length: 24}, (_, i) => h1().run('sh', ['-c', `sleep 0.2; echo ${i}`])))
      assert.deepEqual(results.map((r) => r.stdout), results.map((_, i) => String(i)))
      assert.deepEqual(results.filter((r) => r.stderr !== ''), [])
    })
  })

  describe('files', () => {
    it('writes atomically with a mode, reads back bytes, and keeps the file to that host', async () => {
      const data = randomBytes(70_000)
      const path = `/etc/kctl-test/${process.pid}/secret.key`
      await h1().writeFile(path, data, {mode: 0o600})
      assert.deepEqual(await h1().readFile(path), data)
      assert.equal((await bed.exec('h1', `stat -c %a ${path}; ls -A /etc/kctl-test/${process.pid}`)).stdout, '600\nsecret.key')
      assert.equal(await host(2).exists(path), false)
      assert.equal(existsSync(path), false)
      await h1().writeFile(path, 'replaced\n')
      assert.equal((await h1().readFile(path))?.toString(), 'replaced\n')
      assert.equal(await h1().readFile(`/etc/kctl-test/${process.pid}/missing`), undefined)
    })

    it('creates folders with a mode, tells what exists, and removes trees', async () => {
      const dir = `/var/lib/kctl-test-${process.pid}/a/b`
      await h1().mkdir(dir, {mode: 0o750})
      assert.equal((await bed.exec('h1', `stat -c %a ${dir}`)).stdout, '750')
      await h1().writeFile(`${dir}/f`, 'x')
      assert.equal(await h1().exists(`${dir}/f`), true)
      await h1().remove(`/var/lib/kctl-test-${process.pid}`)
      assert.equal(await h1().exists(`/var/lib/kctl-test-${process.pid}`), false)
      await h1().remove(`/var/lib/kctl-test-${process.pid}`) // absent: nothing to do
      await assert.rejects(h1().remove('relative/path'), /absolute/)
    })

    it('tails the last lines, then follows new ones until closed', async () => {
      const log = `/var/log/kctl-test-${process.pid}.log`
      await h1().writeFile(log, 'one\ntwo\nthree\n')
      const last = await h1().tail(log, {lines: 2, follow: false})
      const got: string[] = []
      for await (const line of last) got.push(line)
      assert.deepEqual(got, ['two', 'three'])
      const whole: string[] = []
      for await (const line of await h1().tail(log, {lines: 0, follow: false})) whole.push(line)
      assert.deepEqual(whole, ['one', 'two', 'three'])

      const follow = await h1().tail(log, {lines: 1, follow: true})
      const it = follow[Symbol.asyncIterator]()
      assert.equal((await it.next()).value, 'three')
      await h1().run('sh', ['-c', `echo four >> ${log}`])
      assert.equal((await it.next()).value, 'four')
      await follow.close()
      await until('the remote tail to end', async () => !(await bed.exec('h1', 'ps -eo args')).stdout.includes(`tail -n 1 -F -- ${log}`))
    })

    it('copies a tree, then sends only what changed', async () => {
      const src = join(scratch, 'tree')
      mkdirSync(join(src, 'bin', 'deep'), {recursive: true})
      mkdirSync(join(src, 'empty'))
      const big = randomBytes(300_000)
      writeFileSync(join(src, 'bin', 'big.bin'), big)
      writeFileSync(join(src, 'bin', 'run.sh'), '#!/bin/sh\necho ran\n')
      chmodSync(join(src, 'bin', 'run.sh'), 0o755)
      writeFileSync(join(src, 'bin', 'deep', "it's a file"), 'quoted name')
      symlinkSync('bin/run.sh', join(src, 'run'))
      const total = big.length + '#!/bin/sh\necho ran\n'.length + 'quoted name'.length
      const dest = `/opt/kctl-test-${process.pid}/1.0.0`

      assert.deepEqual(await h1().copyTree(src, dest), {bytesSent: total})
      const sum = (await bed.exec('h1', `sha256sum ${dest}/bin/big.bin | cut -d' ' -f1`)).stdout
      assert.equal(sum, createHash('sha256').update(big).digest('hex'))
      assert.equal((await h1().run(`${dest}/run`, [])).stdout, 'ran')
      assert.equal(await h1().exists(`${dest}/empty`), true)

      assert.deepEqual(await h1().copyTree(src, dest), {bytesSent: 0})
      writeFileSync(join(src, 'bin', 'run.sh'), '#!/bin/sh\necho changed\n')
      assert.deepEqual(await h1().copyTree(src, dest), {bytesSent: '#!/bin/sh\necho changed\n'.length})
      assert.equal((await h1().run(`${dest}/run`, [])).stdout, 'changed')
      assert.equal(await host(2).exists(dest), false)
    })

    it('copies several folders in one stream, each to its place, links kept, and then only what changed', async () => {
      const pkg = join(scratch, 'parts', 'node_modules', '@scope', 'pkg')
      const native = join(scratch, 'parts', 'elsewhere', 'native') // its folder does not end in its place
      const staged = join(scratch, 'parts', 'staged')
      for (const d of [join(pkg, 'lib'), join(native, 'lib'), staged]) mkdirSync(d, {recursive: true})
      writeFileSync(join(pkg, 'lib', 'index.js'), 'export default 1\n')
      writeFileSync(join(native, 'lib', 'libx.so.5.1'), 'elf')
      symlinkSync('libx.so.5.1', join(native, 'lib', 'libx.so.5'))
      writeFileSync(join(staged, 'package.json'), '{}\n')
      const parts = [
        {from: staged, to: '.'},
        {from: pkg, to: 'node_modules/@scope/pkg'},
        {from: native, to: 'postgres/native'},
      ]
      const dest = `/opt/kctl-test-${process.pid}/parts`
      const total = 'export default 1\n'.length + 'elf'.length + '{}\n'.length
      assert.deepEqual(await h1().copyTree(parts, dest), {bytesSent: total})
      const listed = (await bed.exec('h1', `cd ${dest} && find . | sort`)).stdout.split('\n')
      assert.deepEqual(listed, ['.', './node_modules', './node_modules/@scope', './node_modules/@scope/pkg', './node_modules/@scope/pkg/lib', './node_modules/@scope/pkg/lib/index.js', './package.json', './postgres', './postgres/native', './postgres/native/lib', './postgres/native/lib/libx.so.5', './postgres/native/lib/libx.so.5.1'])
      assert.equal((await bed.exec('h1', `readlink ${dest}/postgres/native/lib/libx.so.5`)).stdout, 'libx.so.5.1', 'a link inside a part stays a link, its target as it was')
      assert.equal((await bed.exec('h1', `cat ${dest}/postgres/native/lib/libx.so.5`)).stdout, 'elf')
      assert.deepEqual(await h1().copyTree(parts, dest), {bytesSent: 0})
      writeFileSync(join(native, 'lib', 'libx.so.5.1'), 'ELF') // same size, other bytes
      assert.deepEqual(await h1().copyTree(parts, dest), {bytesSent: 3})
      assert.equal((await bed.exec('h1', `cat ${dest}/postgres/native/lib/libx.so.5.1`)).stdout, 'ELF')
    })
  })

  describe('processes', () => {
    it('starts a detached process: the session returns at once and the process outlives it', async () => {
      const started = Date.now()
      const id = await h1().spawnDetached('sleep', ['301'], {logFile: `/var/log/kctl-test/${process.pid}/sleep.log`})
      assert.ok(Date.now() - started < 30_000, `spawnDetached took ${Date.now() - started} ms for a 301 s process`)
      assert.equal(id.command, 'sleep 301')
      assert.match(id.start, /^[0-9a-f-]+:\d+$/)
      // Its own session, stdin from /dev/null.
      const facts = (await bed.exec('h1', `cut -d' ' -f6 /proc/${id.pid}/stat; readlink /proc/${id.pid}/fd/0`)).stdout.split('\n')
      assert.deepEqual(facts, [String(id.pid), '/dev/null'])
      // A new connection (the first one closed) still finds the same process.
      const again = host(1)
      assert.deepEqual(await again.processIdentity(id.pid), id)
      await again.close()
      const later = host(1)
      assert.equal(await later.isSameProcess(id), true)
      assert.equal(await later.terminate(id, 'SIGTERM', 5000), 'signalled')
      assert.equal(await later.isSameProcess(id), false)
      assert.equal(await later.processIdentity(id.pid), undefined)
    })

    it('starts a detached process as another user, its pid and identity the program’s own', async () => {
      const id = await h1().spawnDetached('sleep', ['304'], {logFile: `/var/log/kctl-test/${process.pid}/as-nobody.log`, runAs: {user: 'nobody', uid: 65534, gid: 65534}})
      assert.equal(id.command, 'sleep 304', 'setpriv exec’d the program: no wrapper process')
      const ids = (await bed.exec('h1', `grep -E '^(Uid|Gid):' /proc/${id.pid}/status | awk '{print $2}'`)).stdout.split('\n')
      assert.deepEqual(ids, ['65534', '65534'])
      assert.equal(await h1().terminate(id, 'SIGTERM', 5000), 'signalled')
    })

    it('appends the output to the log file, in the folder and environment given', async () => {
      const log = `/var/log/kctl-test/${process.pid}/echo.log`
      await h1().writeFile(log, 'earlier\n')
      await h1().spawnDetached('sh', ['-c', 'echo "$WHO in $(pwd)"; echo oops >&2'], {logFile: log, cwd: '/usr', env: {WHO: 'node one'}})
      await until('the log lines', async () => (await h1().readFile(log))?.toString() === 'earlier\nnode one in /usr\noops\n')
    })

    it('gives a process that exited at once an identity nothing matches', async () => {
      const id = await h1().spawnDetached('/nonexistent/program', [], {logFile: `/var/log/kctl-test/${process.pid}/none.log`})
      assert.equal(await h1().isSameProcess(id), false)
      assert.equal(await h1().signal(id, 'SIGTERM'), false)
    })

    it('never signals a process whose identity differs from the recorded one', async () => {
      const id = await h1().spawnDetached('sleep', ['302'], {logFile: `/var/log/kctl-test/${process.pid}/sleep2.log`})
      const [boot, ticks] = id.start.split(':')
      for (const impostor of [{...id, start: `${boot}:${Number(ticks) + 1}`}, {...id, command: 'sleep 999'}, {...id, start: `00000000-0000-0000-0000-000000000000:${ticks}`}]) {
        assert.equal(await h1().terminate(impostor, 'SIGKILL', 100), 'gone')
        assert.equal(await h1().isSameProcess(id), true, `${JSON.stringify(impostor)} was signalled`)
      }
      assert.equal(await h1().signal(id, 'SIGKILL'), true)
      await until('the process to die', async () => !(await h1().isSameProcess(id)))
    })

    it('kills with SIGKILL what ignores the first signal', async () => {
      const id = await h1().spawnDetached('sh', ['-c', 'trap "" TERM; while :; do sleep 1; done'], {logFile: `/var/log/kctl-test/${process.pid}/stubborn.log`})
      assert.equal(await h1().terminate(id, 'SIGTERM', 500), 'killed')
      assert.equal(await h1().isSameProcess(id), false)
    })
  })

  describe('ports', () => {
    it('tells a taken port from a free one on that host, and reaches a loopback server through the connection', {skip: spawnSync('sh', ['-c', 'command -v python3']).status !== 0 && 'python3 is needed for the HTTP server on the host'}, async () => {
      const port = 18000 + (process.pid % 1000)
      assert.equal(await h1().portFree('127.0.0.1', port), true)
      await h1().writeFile(`/srv/kctl-test-${process.pid}/hello.txt`, 'hello from h1\n')
      const server = await h1().spawnDetached('python3', ['-m', 'http.server', '--bind', '127.0.0.1', String(port)], {logFile: `/var/log/kctl-test/${process.pid}/http.log`, cwd: `/srv/kctl-test-${process.pid}`})
      try {
        await until('the server to listen', async () => !(await h1().portFree('127.0.0.1', port)))
        assert.equal(await h1().portFree('0.0.0.0', port), false)
        assert.equal(await h1().portFree(bed.hosts[0].address, port + 1), true)
        assert.equal(await host(2).portFree('127.0.0.1', port), true)
        // checks asked together share one script; each still gets its own answer
        assert.deepEqual(await Promise.all([h1().portFree('127.0.0.1', port), h1().portFree('127.0.0.1', port + 1), h1().portFree('0.0.0.0', port), h1().portFree('::', port + 2)]), [false, true, false, true])

        const to = await h1().reach('127.0.0.1', port)
        assert.equal(to.host, '127.0.0.1')
        assert.deepEqual(await h1().reach('127.0.0.1', port), to)
        const res = await fetch(`http://127.0.0.1:${to.port}/hello.txt`)
        assert.equal(await res.text(), 'hello from h1\n')
      } finally {
        await h1().terminate(server, 'SIGTERM', 2000)
      }
    })
  })

  describe('host keys, authentication, reachability', () => {
    it('refuses an unknown host key, naming the host and its fingerprint', async () => {
      const empty = join(scratch, 'known_hosts_empty')
      writeFileSync(empty, '')
      const h = host(1, {knownHostsFile: empty})
      await assert.rejects(h.run('true', []), (err: unknown) => {
        assert.ok(err instanceof ExternalError)
        assert.equal(err.code, 'HOST_KEY_UNKNOWN')
        assert.match(err.message, /host h1 \(10\.231\.\d+\.11\)/)
        assert.ok(err.message.includes(fingerprintOf(bed.hosts[0].hostKeyFile)), err.message)
        assert.match(err.hint ?? '', /--accept-new-host-keys/)
        return true
      })
      assert.equal(readFileSync(empty, 'utf8'), '')
    })

    it('records a new host key with accept-new', async () => {
      const file = join(scratch, 'known_hosts_new')
      writeFileSync(file, '')
      const h = host(2, {knownHostsFile: file}, {acceptNewHostKeys: true})
      assert.equal((await h.run('uname', ['-n'])).stdout, 'h2')
      assert.match(readFileSync(file, 'utf8'), new RegExp(`^${bed.hosts[1].address.replace(/\./g, '\\.')} ssh-ed25519 `, 'm'))
      await h.close()
      // Now known: strict checking passes without the flag.
      assert.equal((await host(2, {knownHostsFile: file}).run('uname', ['-n'])).stdout, 'h2')
    })

    it('refuses a changed host key, even with accept-new', async () => {
      const file = join(scratch, 'known_hosts_changed')
      const otherKey = readFileSync(bed.hosts[1].hostKeyFile, 'utf8').split(' ').slice(0, 2).join(' ')
      writeFileSync(file, `${bed.hosts[0].address} ${otherKey}\n`)
      const h = host(1, {knownHostsFile: file}, {acceptNewHostKeys: true})
      await assert.rejects(h.run('true', []), (err: unknown) => {
        assert.ok(err instanceof ExternalError)
        assert.equal(err.code, 'HOST_KEY_CHANGED')
        assert.ok(err.message.includes(fingerprintOf(bed.hosts[0].hostKeyFile)), err.message)
        assert.match(err.message, /host h1/)
        return true
      })
      assert.equal(readFileSync(file, 'utf8'), `${bed.hosts[0].address} ${otherKey}\n`)
    })

    it('reports a refused key as an authentication error', async () => {
      const key = join(scratch, 'stranger_ed25519')
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
      await assert.rejects(host(1, {identityFile: key}).run('true', []), (err: unknown) => err instanceof ExternalError && err.code === 'HOST_AUTH_FAILED' && /host h1/.test(err.message) && /publickey/.test(err.message) && (err.hint ?? '').includes(`-i ${key}`))
    })

    it('reports an unreachable address quickly and clearly', async () => {
      const started = Date.now()
      const nobody = new SshHost('ghost', {address: `${bed.subnet}.250`, user: 'root', identityFile: bed.key, knownHostsFile: bed.knownHosts, configFile: '/dev/null'}, {connectTimeoutS: 3})
      opened.push(nobody)
      await assert.rejects(nobody.run('true', []), (err: unknown) => err instanceof ExternalError && err.code === 'HOST_UNREACHABLE' && /Can't reach host ghost/.test(err.message))
      const refused = host(1, {port: 2222})
      await assert.rejects(refused.facts(), (err: unknown) => err instanceof ExternalError && err.code === 'HOST_UNREACHABLE' && /Connection refused/i.test(err.message))
      assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`)
    })

    it('a script that exits 255 itself is its exit code, not a lost connection', async () => {
      const h = host(2)
      const r = await h.run('sh', ['-c', 'exit 255'], {reject: false})
      assert.equal(r.exitCode, 255)
      assert.equal((await h.run('uname', ['-n'])).stdout, 'h2', 'the connection is still used')
    })

    // last: the host stays down
    it('a host that goes down during a command: the connection is named as lost, with the host and what to check', async () => {
      const h = host(2)
      await h.run('true', [])
      const outcome = h.run('sleep', ['60']).then(() => 'the command finished', (err: unknown) => err)
      await until('the command to run on h2', async () => (await bed.exec('h2', 'ps -eo args')).stdout.includes('sleep 60'))
      await bed.poweroff('h2')
      const err = await outcome
      assert.ok(err instanceof ExternalError, String(err))
      assert.equal(err.code, 'HOST_UNREACHABLE', err.message)
      assert.match(err.message, new RegExp(`^Lost the SSH connection to host h2 \\(${bed.hosts[1].address.replace(/\./g, '\\.')}\\) while `))
      assert.match(err.hint ?? '', /Is the host up/)
    })
  })
})
