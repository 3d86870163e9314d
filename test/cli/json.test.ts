/**
 * The JSON contract across commands, through the real CLI against a real embedded cluster:
 * every `--json` output uses snake_case keys (as Kong's Admin API does), `dump --json` is
 * the configuration itself, and the lifecycle summaries say what actually happened.
 */
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createSandbox, type KctlRun, type Sandbox} from '../helpers/kctl.js'

/** Keys holding names the user chose (node names, labels), not keys of the contract. */
const USER_KEYED = new Set(['labels', 'reachable', 'entities'])

/** Every key path in `value` that is not snake_case (an upper-case letter in it). */
function camelKeys(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => camelKeys(v, `${path}[${i}]`))
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([k, v]) => [...(/[A-Z]/.test(k) ? [`${path}.${k}`] : []), ...(USER_KEYED.has(k) ? [] : camelKeys(v, `${path}.${k}`))])
}

function parseJson(r: KctlRun, what: string): any {
  try {
    return JSON.parse(r.stdout)
  } catch {
    throw new Error(`${what} printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  }
}

describe('--json output of every command', () => {
  let sb: Sandbox
  const seen: Record<string, unknown> = {}
  /** Runs `kctl ...args --json`, expects exit `code`, records the output for the key check. */
  const json = async (code: number, ...args: string[]): Promise<any> => {
    const r = await sb.kctl(...args, '--json')
    assert.equal(r.code, code, `kctl ${args.join(' ')} --json: exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const body = parseJson(r, `kctl ${args.join(' ')}`)
    seen[args.join(' ')] = body
    return body
  }

  before(async () => {
    sb = await createSandbox()
    await sb.writeSpec()
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('init, nodes and status', async () => {
    const plan = await json(0, 'init', '--dry-run')
    assert.equal(plan.spec_created, false)
    const up = await json(0, 'init')
    assert.equal(up.already_running, false)
    assert.equal(up.spec_created, false)
    await json(0, 'init').then((again) => assert.equal(again.already_running, true))
    await json(0, 'nodes')
    await json(0, 'status')
  })

  it('the declarative commands; dump --json is the configuration itself', async () => {
    const file = join(sb.cwd, 'kong.yaml')
    await writeFile(file, '_format_version: "3.0"\nservices:\n- name: svc1\n  url: http://127.0.0.1:9\n  routes:\n  - name: r1\n    paths: [/r1]\n')
    await json(0, 'validate', file)
    await json(0, 'diff', file)
    await json(0, 'apply', file)
    const config = await json(0, 'dump')
    assert.equal(config._format_version, '3.0')
    assert.deepEqual(config.services.map((s: any) => [s.name, s.host, s.routes.map((r: any) => r.name)]), [['svc1', '127.0.0.1', ['r1']]])
    const written = await json(0, 'dump', '-o', join(sb.cwd, 'out.yaml'))
    assert.deepEqual(written, {file: join(sb.cwd, 'out.yaml'), format: 'yaml', entities: {services: 1, routes: 1}})
    await json(0, 'reset', '--yes')
  })

  it('gen-cert, shared and pki', async () => {
    await json(0, 'gen-cert', '--cert', join(sb.dir, 'c.crt'), '--key', join(sb.dir, 'c.key'))
    await json(0, 'gen-cert', '--mtls', 'pki', '--out', join(sb.dir, 'pki'))
  })

  it('stop, start, restart say what they did, and what was already so', async () => {
    assert.deepEqual(await json(0, 'stop'), {cluster: 'e2e', stopped: ['node-1', 'postgres'], already_stopped: []})
    const again = await sb.kctl('stop')
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stdout, 'Already stopped: node-1, postgres\n')
    const one = await sb.kctl('start', 'node-1')
    assert.equal(one.code, 0, one.stderr)
    assert.equal(one.stdout, 'Started: postgres, node-1\n', 'the database it needs is started first')
    assert.deepEqual(await json(0, 'start'), {cluster: 'e2e', started: [], already_running: ['postgres', 'node-1']})
    const running = await sb.kctl('start')
    assert.equal(running.stdout, 'Already running: postgres, node-1\n')
    assert.deepEqual(await json(0, 'restart', 'node-1'), {cluster: 'e2e', restarted: ['node-1'], started: [], already_running: ['postgres']})
    const text = await sb.kctl('restart', 'node-1')
    assert.equal(text.code, 0, text.stderr)
    assert.equal(text.stdout, 'Restarted: node-1\nLeft running: postgres\n', 'the database was not restarted')
    assert.deepEqual(await json(0, 'restart'), {cluster: 'e2e', restarted: ['node-1'], started: [], already_running: ['postgres']}, 'rolling: the database keeps running')
    assert.deepEqual(await json(0, 'restart', '--all-at-once'), {cluster: 'e2e', restarted: ['postgres', 'node-1'], started: [], already_running: []})
    await json(0, 'destroy', '--yes')
  })

  it('no key anywhere is camelCase', () => {
    assert.ok(Object.keys(seen).length >= 15, Object.keys(seen).join(', '))
    const bad = Object.entries(seen).flatMap(([cmd, body]) => camelKeys(body).map((k) => `kctl ${cmd} --json: ${k}`))
    assert.deepEqual(bad, [])
  })
})
