/**
 * Runs the real CLI (`bin/run.js`) as a subprocess, the way a user or CI does: no stdin,
 * CI=true, a temp KCTL_DATA_DIR and a temp working directory. A sandbox is where a test
 * drives kctl itself (init, its failures, its prompts); a test that only needs a running
 * cluster gets one from `startCluster` in nodes.ts.
 */
import {spawn} from 'node:child_process'
import {chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {findFreePort} from '../../src/kit/ports.js'
import {isAlive, isSameProcess, processIdentity, signalProcess, type ProcessIdentity} from '../../src/kit/process.js'
import {createServer} from 'node:net'
import {after, before} from 'node:test'

// Compiled to dist/test/helpers/kctl.js; the package root is three levels up.
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..')
const BIN = join(ROOT, 'bin', 'run.js')

export interface KctlRun {
  code: number
  stdout: string
  stderr: string
}

export interface Sandbox {
  dir: string
  dataDir: string
  cwd: string
  ports: {proxy: number; proxySsl: number; admin: number; status: number}
  kctl(...args: string[]): Promise<KctlRun>
  /** Writes ./kctl.yaml with this sandbox's free ports. */
  writeSpec(name?: string): Promise<void>
  /** Every pid seen in `nodes --json` output (or added), with its identity then, for cleanup. */
  pids: ProcessSet
  /** destroy --yes, then SIGKILL any process this sandbox saw that still runs, then remove the dirs. */
  cleanup(): Promise<void>
}

export async function createSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'kctl-e2e-'))
  // Reachable by the unprivileged Postgres user when tests run as root, so every
  // process of the sandbox names the sandbox in its command line.
  await chmod(dir, 0o755)
  const dataDir = join(dir, 'data')
  const cwd = join(dir, 'work')
  await mkdir(cwd, {recursive: true})
  const ports = await freePorts()
  const pids = new ProcessSet()
  const kctl = (...args: string[]) => runKctl(args, {cwd, env: {KCTL_DATA_DIR: dataDir}})
  const sandbox: Sandbox = {
    dir,
    dataDir,
    cwd,
    ports,
    pids,
    kctl: async (...args) => {
      const r = await kctl(...args)
      if (args[0] === 'nodes' && r.code === 0 && args.includes('--json')) for (const n of JSON.parse(r.stdout).nodes) if (n.pid) pids.add(n.pid)
      return r
    },
    writeSpec: (name = 'e2e') => writeFile(join(cwd, 'kctl.yaml'), specYaml(name, ports)),
    async cleanup() {
      await kctl('destroy', '--yes').catch(() => {})
      for (const id of pids.identities.values()) signalProcess(id, 'SIGKILL')
      await rm(dir, {recursive: true, force: true})
    },
  }
  return sandbox
}

/**
 * Pids, each with the identity its process had when added: cleanup kills only a process
 * that is still that one, never one that got the pid later.
 */
export class ProcessSet extends Set<number> {
  readonly identities = new Map<number, ProcessIdentity>()

  override add(pid: number): this {
    const id = processIdentity(pid)
    if (id && !isSameProcess(this.identities.get(pid))) this.identities.set(pid, id)
    return super.add(pid)
  }
}

/** Four free ports for a spec's listeners. */
export async function freePorts(): Promise<Sandbox['ports']> {
  return {proxy: await findFreePort(), proxySsl: await findFreePort(), admin: await findFreePort(), status: await findFreePort()}
}

/** An embedded spec named `name` listening on `p` (what `writeSpec` writes). */
export function specYaml(name: string, p: Sandbox['ports']): string {
  return `apiVersion: kctl/v1
kind: Cluster
metadata: {name: ${name}}
spec:
  mode: embedded
  database: {embedded: true}
  nodes:
    - name: node-1
      role: traditional
      proxy_listen: 127.0.0.1:${p.proxy}, 127.0.0.1:${p.proxySsl} ssl
      admin_listen: 127.0.0.1:${p.admin}
      status_listen: 127.0.0.1:${p.status}
`
}

/** Runs `bin/run.js` of this package, or of the kctl build whose bin/run.js is `options.bin`. */
export function runKctl(args: string[], options: {cwd: string; env?: Record<string, string>; bin?: string}): Promise<KctlRun> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = {...process.env, CI: 'true', NO_COLOR: '1', ...options.env}
    for (const k of Object.keys(env)) if (k.startsWith('KONG_')) delete env[k]
    const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
  })
}

/** Runs the CLI in `dir`, with kctl's state under `dir`/data: a test folder's own user of kctl. */
export function kctlIn(dir: string, ...args: string[]): Promise<KctlRun> {
  return runKctl(args, {cwd: dir, env: {KCTL_DATA_DIR: join(dir, 'data')}})
}

/**
 * A temp folder for CLI runs that need no cluster (help, usage errors, version): its own
 * data and cache dirs, made before the file's tests and removed after them.
 */
export function scratchCli(prefix: string, ready?: (dir: string) => void | Promise<void>): {readonly dir: string; kctl(args: string[], env?: Record<string, string>): Promise<KctlRun>} {
  let dir = ''
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix))
    await ready?.(dir) // in this hook: Node 20 starts a file's next `before` without waiting for this one
  })
  after(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })
  return {
    get dir() {
      return dir
    },
    kctl: (args, env = {}) => runKctl(args, {cwd: dir, env: {KCTL_DATA_DIR: join(dir, 'data'), KCTL_CACHE_DIR: join(dir, 'cache'), ...env}}),
  }
}

/** Pids of live processes whose command line mentions `text` (e.g. a sandbox path). */
export async function processesMentioning(text: string): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmd.includes(text) && isAlive(Number(entry))) found.push(Number(entry))
  }
  return found
}

/**
 * The spec `kctl init` renders from templates/ without flags listens on Kong's default
 * ports (8000, 8443, 8001, 8007), which other tests on this machine may hold. Rewrites
 * those listen addresses to the sandbox's free ports, as the spec's own comment tells a
 * user to; nothing else changes.
 */
export async function moveToSandboxPorts(sb: Sandbox): Promise<string> {
  const file = join(sb.cwd, 'kctl.yaml')
  const p = sb.ports
  const text = (await readFile(file, 'utf8'))
    .replace('proxy_listen: 0.0.0.0:8000, 0.0.0.0:8443 ssl', `proxy_listen: 127.0.0.1:${p.proxy}, 127.0.0.1:${p.proxySsl} ssl`)
    .replace('admin_listen: 127.0.0.1:8001', `admin_listen: 127.0.0.1:${p.admin}`)
    .replace('status_listen: 127.0.0.1:8007', `status_listen: 127.0.0.1:${p.status}`)
  await writeFile(file, text)
  return text
}

/**
 * Runs `fn` while port `port` is taken on all addresses: by us when it is free, else by
 * whoever already holds it. Either way a `kctl init` with the default spec stops at
 * preflight naming that port, after writing kctl.yaml and before starting anything.
 */
export async function withPortTaken<T>(port: number, fn: () => Promise<T>): Promise<T> {
  const blocker = createServer()
  const held = await new Promise<boolean>((resolve) => {
    blocker.once('error', () => resolve(false))
    blocker.listen({host: '0.0.0.0', port, exclusive: true}, () => resolve(true))
  })
  try {
    return await fn()
  } finally {
    if (held) await new Promise((r) => blocker.close(r))
  }
}
