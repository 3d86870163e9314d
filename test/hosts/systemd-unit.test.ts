// The unit file kctl writes for a node on a systemd host, checked by systemd itself:
// `systemd-analyze verify` must accept it without a single warning.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {nodeBinaryIn, runtimeEntryIn} from '../../src/cluster/remote-install.js'
import {NODE_NOFILE, renderUnit, unitName} from '../../src/cluster/systemd-unit.js'
import {ensureCommand} from '../helpers/system.js'

function analyzeUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'systemd-analyze runs on Linux only'
  try {
    ensureCommand('systemd-analyze', 'systemd')
    return undefined
  } catch (err) {
    return `systemd-analyze is missing and could not be installed: ${(err as Error).message}`
  }
}

describe('the systemd unit of a node', {skip: analyzeUnavailable()}, () => {
  const root = mkdtempSync(join(tmpdir(), 'kctl-unit-'))
  after(() => rmSync(root, {recursive: true, force: true}))

  /** A host's layout under `root` (verify checks that ExecStart's program exists). */
  const layout = (install: string) => {
    const dir = join(root, install, '0.1.0')
    mkdirSync(join(dir, 'bin'), {recursive: true})
    mkdirSync(join(dir, 'dist', 'src', 'runtime'), {recursive: true})
    symlinkSync(process.execPath, nodeBinaryIn(dir))
    writeFileSync(runtimeEntryIn(dir), '')
    const prefix = join(root, install, 'data', 'nodes', 'dp-1')
    mkdirSync(join(prefix, 'logs'), {recursive: true})
    return {dir, prefix}
  }

  const verify = (text: string, name: string) => {
    const file = join(root, name)
    writeFileSync(file, text)
    return spawnSync('systemd-analyze', ['verify', '--man=no', file], {encoding: 'utf8'})
  }

  it('passes systemd-analyze verify with no warning, and says what kctl promises', () => {
    const {dir, prefix} = layout('opt')
    const text = renderUnit({cluster: 'edge', node: {name: 'dp-1', role: 'data_plane', prefix, confPath: join(root, 'etc', 'nodes', 'dp-1', 'kong.conf'), logFile: join(prefix, 'logs', 'node.log')}, install: {dir, user: 'kctl-edge'}})
    const r = verify(text, unitName('edge', 'dp-1'))
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr.trim(), '', 'no warning')
    assert.match(text, /^User=kctl-edge$/m)
    assert.match(text, /^Restart=on-failure$/m)
    // a handover's new supervisor writes this file before the old one exits: systemd follows it
    assert.ok(text.split('\n').includes(`PIDFile=${join(prefix, 'supervisor.pid')}`), text)
    assert.match(text, new RegExp(`^LimitNOFILE=${NODE_NOFILE}$`, 'm'))
    assert.match(text, new RegExp(`^ExecStart=${nodeBinaryIn(dir)} ${runtimeEntryIn(dir)} --conf \\S+/kong\\.conf$`, 'm'))
  })

  it('quotes paths with spaces and keeps % and $ literal', () => {
    const {dir, prefix} = layout('opt with space%$x')
    const text = renderUnit({cluster: 'edge', node: {name: 'dp-1', role: 'data_plane', prefix, confPath: join(root, 'conf dir', 'kong.conf'), logFile: join(prefix, 'logs', 'node.log')}, install: {dir, user: 'kctl-edge'}})
    const r = verify(text, 'kctl-edge-dp-2.service')
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr.trim(), '', 'no warning')
    assert.match(text, /^ExecStart="[^"]*opt with space%%\$x[^"]*bin\/node" "[^"]*%%\$\$x[^"]*main\.js" /m)
    assert.match(text, /^PIDFile=\S*opt with space%%\$x\/data\/nodes\/dp-1\/supervisor\.pid$/m)
    assert.match(text, /^WorkingDirectory=\S*opt with space%%\$x\/data\/nodes\/dp-1$/m)
  })

  it('the check itself fails on a unit systemd does not accept', () => {
    const r = verify('[Service]\nExecStart=relative/node\n', 'kctl-bad.service')
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /absolute path/)
  })
})
