/**
 * README's quick start, run as written: its shell lines are taken from README.md and
 * executed one by one in a sandbox, with only the ports moved to free ones (Kong's
 * defaults may be taken on this machine) and `npx kctl` pointed at this checkout.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createSandbox, processesMentioning, ROOT, type Sandbox} from '../helpers/kctl.js'
import {ensureCommand} from '../helpers/system.js'

/** The `sh` lines of README's "Quick start" section, in order. */
async function quickStartLines(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const start = readme.indexOf('## Quick start')
  assert.ok(start >= 0, 'README.md has a Quick start section')
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n')).map((l) => l.trim()).filter(Boolean)
}

function sh(line: string, cwd: string, env: Record<string, string>): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', line], {cwd, env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
  })
}

describe('README quick start', () => {
  let sb: Sandbox
  before(async () => {
    ensureCommand('curl')
    sb = await createSandbox()
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('every command succeeds as written (ports moved to free ones)', async () => {
    const lines = await quickStartLines()
    assert.ok(lines.some((l) => l.startsWith('curl ')), 'the quick start has curl commands')
    const p = sb.ports
    const portFlags = `--proxy-port ${p.proxy} --proxy-ssl-port ${p.proxySsl} --admin-port ${p.admin} --status-port ${p.status}`
    const env = {KCTL_DATA_DIR: sb.dataDir, CI: 'true', NO_COLOR: '1'}
    let ran = 0
    for (const original of lines) {
      // `npm install` was done for this checkout; the test commands run this very suite.
      if (/^(npm test|npm run test:|node scripts\/test\.js)\b/.test(original)) continue
      const line = original
        .replace(/^npm install && /, '')
        .replaceAll('npx kctl', `node ${JSON.stringify(join(ROOT, 'bin', 'run.js'))}`)
        .replace(/(run\.js" init)\b/, `$1 ${portFlags}`)
        .replace(/:8000\b/g, `:${p.proxy}`)
        .replace(/:8001\b/g, `:${p.admin}`)
        // curl -s exits 0 on an HTTP error; --fail-with-body makes an error status fail the line.
        .replace(/^curl /, 'curl --fail-with-body ')
      const r = await sh(line, sb.cwd, env)
      assert.equal(r.code, 0, `${original}\n→ ${line}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
      if (/\/echo\/status/.test(line)) assert.match(r.stdout, /"database":\{"reachable":true\}/, `${original}: the Admin API's /status, through the proxy`)
      if (/run\.js" init/.test(line)) await sb.kctl('nodes', '--json') // records the pids for cleanup
      ran++
    }
    assert.ok(ran >= 7, `ran ${ran} lines`)
    assert.deepEqual(await processesMentioning(sb.dir), [], 'destroy left nothing running')
  })
})
