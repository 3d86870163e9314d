// The pure parts of the SSH host: quoting, ssh options, reading ssh's failures, /proc/net
// listeners and the tree comparison. These run everywhere, test bed or not.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {listenersIn, portTaken} from '../../src/cluster/hosts/proc-net.js'
import {identScript, parseIdent, parseSpawned, signalScript, spawnScript} from '../../src/cluster/hosts/remote-process.js'
import {isSameProcess, processIdentity} from '../../src/kit/process.js'
import {until} from '../helpers/until.js'
import {sshFailure} from '../../src/cluster/hosts/ssh-errors.js'
import {commandLine, exportLines, sshOptions} from '../../src/cluster/hosts/ssh-options.js'
import {listInput, localTree, parseRemoteList, remoteListScript, treeDiff} from '../../src/cluster/hosts/tree-diff.js'

describe('remote command lines', () => {
  it('survive a POSIX shell unchanged', () => {
    const args = ['plain', 'two words', "it's", '$(id)', '`id`', 'a\\b', '*', '', 'new\nline', '!x', '-e']
    const r = spawnSync('sh', ['-c', commandLine('printf', ['%s|', ...args])], {encoding: 'utf8'})
    assert.equal(r.stdout, args.map((a) => `${a}|`).join(''))
  })

  it('export only valid variable names', () => {
    assert.equal(exportLines({A_1: "x 'y'"}), `export A_1='x '\\''y'\\'''\n`)
    assert.throws(() => exportLines({'A;rm': 'x'}), /not an environment variable name/)
  })

  it('check host keys strictly unless accept-new is asked, and put -F first', () => {
    const strict = sshOptions({address: '10.0.0.1', configFile: '/cfg', knownHostsFile: '/kh', port: 2200, user: 'u'}, '/tmp/c/m')
    assert.deepEqual(strict.slice(0, 2), ['-F', '/cfg'])
    assert.ok(strict.includes('StrictHostKeyChecking=yes') && strict.includes('UserKnownHostsFile=/kh') && strict.includes('BatchMode=yes') && strict.includes('ControlPath=/tmp/c/m'))
    assert.ok(sshOptions({host: 'edge'}, '/c', {acceptNewHostKeys: true}).includes('StrictHostKeyChecking=accept-new'))
  })
})

describe('ssh failures', () => {
  const ctx = {name: 'edge-1', destination: '10.0.0.12'}
  it('are told apart and name the host', () => {
    const cases: [string, string][] = [
      ['No ED25519 host key is known for 10.0.0.12 and you have requested strict checking.\r\nHost key verification failed.\r\ndebug1: Server host key: ssh-ed25519 SHA256:abcDEF123', 'HOST_KEY_UNKNOWN'],
      ['@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:zzz999.\nHost key verification failed.', 'HOST_KEY_CHANGED'],
      ['root@10.0.0.12: Permission denied (publickey,password).', 'HOST_AUTH_FAILED'],
      ['ssh: connect to host 10.0.0.12 port 22: Connection refused', 'HOST_UNREACHABLE'],
      ['ssh: Could not resolve hostname edge-1: Name or service not known', 'HOST_UNREACHABLE'],
    ]
    for (const [stderr, code] of cases) {
      const err = sshFailure(stderr, ctx)
      assert.equal(err?.code, code, stderr)
      assert.match(err!.message, /host edge-1 \(10\.0\.0\.12\)/)
    }
    assert.match(sshFailure(cases[0][0], ctx)!.message, /SHA256:abcDEF123/)
    assert.match(sshFailure(cases[1][0], ctx)!.message, /SHA256:zzz999/)
    assert.equal(sshFailure('tar: cannot open: No such file or directory', ctx), undefined)
  })
})

describe('/proc/net listeners', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
    '   1: 0B00E70A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1',
    '   2: 0100007F:1F41 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3 1',
    '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4 1',
  ].join('\n')
  it('are read with their addresses, established sockets left out', () => {
    assert.deepEqual(listenersIn(text), [
      {address: '127.0.0.1', port: 8000},
      {address: '10.231.0.11', port: 22},
      {address: '::', port: 8080},
    ])
  })
  it('take a port on their address or everywhere', () => {
    const l = listenersIn(text)
    assert.equal(portTaken(l, '127.0.0.1', 8000), true)
    assert.equal(portTaken(l, '10.231.0.11', 8000), false)
    assert.equal(portTaken(l, '0.0.0.0', 8000), true)
    assert.equal(portTaken(l, '127.0.0.1', 8080), true)
    assert.equal(portTaken(l, '127.0.0.1', 8001), false)
  })
})

describe('tree comparison', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kctl-tree-'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('finds what a listing of the same tree made by find and sha256sum lacks', async () => {
    const src = join(dir, 'src')
    mkdirSync(join(src, 'a', 'b'), {recursive: true})
    writeFileSync(join(src, 'a', 'one'), '1')
    writeFileSync(join(src, 'a', 'b', 'two words'), '22')
    symlinkSync('a/one', join(src, 'link'))
    const local = await localTree(src)
    // The host's listing script run here over the same folder: nothing differs.
    const listing = spawnSync('sh', ['-c', remoteListScript(`'${src}'`)], {encoding: 'utf8', input: listInput(local)}).stdout
    assert.deepEqual(await treeDiff(local, parseRemoteList(listing)), {paths: [], bytes: 0})
    // only the files named on its stdin are read: one the local tree lacks is listed, not hashed
    writeFileSync(join(src, 'theirs'), 'x')
    const theirs = spawnSync('sh', ['-c', remoteListScript(`'${src}'`)], {encoding: 'utf8', input: listInput(local)}).stdout
    assert.match(theirs, /^f 1 \.\/theirs$/m)
    assert.doesNotMatch(theirs, /^[0-9a-f]{64} +\.\/theirs$/m)
    rmSync(join(src, 'theirs'))
    // Against an empty host everything goes; against a changed file only that one.
    assert.deepEqual(await treeDiff(local, new Map()), {paths: ['./a', './a/b', './a/b/two words', './a/one', './link'], bytes: 3})
    writeFileSync(join(src, 'a', 'one'), '9')
    assert.deepEqual(await treeDiff(await localTree(src), parseRemoteList(listing)), {paths: ['./a/one'], bytes: 1})
  })
})

describe('process scripts, run by this machine’s sh', {skip: process.platform !== 'linux' && 'they read Linux’s /proc'}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kctl-proc-'))
  after(() => rmSync(dir, {recursive: true, force: true}))
  const sh = (script: string) => spawnSync('sh', ['-c', script], {encoding: 'utf8', timeout: 20_000})

  it('identify a process exactly as src/kit/process.ts does', () => {
    assert.deepEqual(parseIdent(process.pid, sh(identScript(process.pid)).stdout), processIdentity(process.pid))
    assert.equal(sh(identScript(999_999_999)).stdout, '')
  })

  it('start a detached process whose identity is the program’s, and signal only that one', async () => {
    const r = sh(spawnScript('sleep', ['303'], {logFile: join(dir, 'logs', 'sleep.log'), env: {A: 'b'}}))
    assert.equal(r.status, 0, r.stderr)
    const id = parseSpawned(r.stdout)
    assert.deepEqual(id, processIdentity(id.pid))
    assert.equal(id.command, 'sleep 303')
    assert.equal(sh(signalScript({...id, start: `${id.start}0`}, 'SIGTERM')).status, 3)
    assert.equal(isSameProcess(id), true)
    assert.equal(sh(signalScript(id, 'SIGTERM')).status, 0)
    await until('the process to end', async () => !isSameProcess(id))
    assert.equal(sh(signalScript(id, 'SIGTERM')).status, 3)
  })
})
