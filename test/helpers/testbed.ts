/**
 * N "remote Linux hosts" on this machine for the SSH tests (test/helpers/testbed.sh does the
 * work): each host is a network namespace with its own address on a private bridge, its own
 * sshd (own host key, key-only root login), hostname, pid and mount namespaces, and an overlay
 * of `/` with an in-memory writable layer, no Node and no route out.
 *
 *   const reason = testbedUnavailable()          // skip the suite with it when set
 *   const bed = await up(3)                      // h1..h3 at bed.hosts[i].address
 *   const bed = await up(2, {systemd: ['h2']})   // h2's PID 1 is systemd (systemdBedUnavailable())
 *   after(() => bed.down())                      // nothing left: processes, netns, veth, bridge
 *   await bed.exec('h1', 'cat /etc/hostname')    // inside the host, without ssh
 *
 * Every run claims its own slot (state folder, interface prefix, /24 subnet), so test runs in
 * parallel never collide; the bed of a run that died without `down` is torn down by the next.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {ensureCommand} from './system.js'
import {ROOT} from './kctl.js'

const SCRIPT = join(ROOT, 'test', 'helpers', 'testbed.sh')

export interface BedHost {
  /** h1, h2, … (also an alias in `sshConfig`). */
  name: string
  address: string
  /** Path of the host's public host key (`ssh-ed25519 AAAA…`). */
  hostKeyFile: string
}

export interface Testbed {
  hosts: BedHost[]
  /** An ssh_config with every host (by name and address), the key, known_hosts, strict checking. */
  sshConfig: string
  /** The private key root's authorized_keys accepts on every host. */
  key: string
  /** known_hosts with every host's key (by name and address). */
  knownHosts: string
  /** Interface/namespace prefix and /24 subnet of this run, e.g. `kb17` and `10.231.17`. */
  prefix: string
  subnet: string
  /** Runs `sh -c cmd` inside the host (its namespaces and filesystem), without ssh. */
  exec(host: string, cmd: string): Promise<{exitCode: number; stdout: string; stderr: string}>
  /** The host crashes: all its processes die at once, then its link goes down (connections to it find no route). */
  poweroff(host: string): Promise<void>
  /** Removes every trace of the bed; safe to call twice. */
  down(): Promise<void>
}

let unavailable: string | undefined | null = null

/**
 * Why the bed cannot run here (not root, no network/pid/mount namespaces, no overlayfs), or
 * undefined when it can. Installs iproute2, util-linux and openssh-server when missing.
 */
export function testbedUnavailable(): string | undefined {
  if (unavailable !== null) return unavailable
  unavailable = probe()
  return unavailable
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return 'the SSH test bed needs Linux (network, pid and mount namespaces)'
  if (process.getuid?.() !== 0) return 'the SSH test bed needs root (it creates network namespaces and runs sshd)'
  try {
    ensureCommand('ip', 'iproute2')
    ensureCommand('unshare', 'util-linux')
    ensureCommand('nsenter', 'util-linux')
    ensureCommand('/usr/sbin/sshd', 'openssh-server')
    ensureCommand('ssh', 'openssh-client')
  } catch (err) {
    return (err as Error).message
  }
  const ns = spawnSync('unshare', ['--net', '--mount', '--pid', '--uts', '--fork', 'true'], {encoding: 'utf8'})
  if (ns.status !== 0) return `namespaces are not available here (unshare: ${ns.stderr.trim() || `exit ${ns.status}`})`
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) {
    spawnSync('modprobe', ['overlay'], {stdio: 'ignore'})
    if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) return 'overlayfs is not available in this kernel'
  }
  return undefined
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Why hosts whose PID 1 is systemd cannot run here, or undefined (installs systemd when missing). */
export function systemdBedUnavailable(): string | undefined {
  const reason = testbedUnavailable()
  if (reason) return reason
  try {
    ensureCommand('/lib/systemd/systemd', 'systemd')
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

interface Slot {
  n: number
  state: string
}

/** Tears down the beds of runs that died without `down` (killed test processes). */
function reapDeadBeds(base: string): void {
  for (const name of readdirSync(base)) {
    const n = Number(name)
    if (!Number.isInteger(n) || n < 1 || n > 250) continue
    const state = join(base, name)
    let owner = 0
    try {
      owner = Number(readFileSync(join(state, 'owner'), 'utf8'))
    } catch {
      continue // being claimed right now
    }
    if (!owner || alive(owner)) continue
    script(['down'], envOf(n, state))
    rmSync(state, {recursive: true, force: true})
  }
}

/** Claims a free slot: its state folder is the lock (mkdir is atomic), its owner our pid. */
function claimSlot(): Slot {
  const base = join(tmpdir(), 'kctl-testbeds')
  mkdirSync(base, {recursive: true, mode: 0o700})
  reapDeadBeds(base)
  const used = spawnSync('ip', ['-o', '-4', 'addr', 'show'], {encoding: 'utf8'}).stdout ?? ''
  const start = 1 + Math.floor(Math.random() * 250)
  for (let i = 0; i < 250; i++) {
    const n = 1 + ((start + i) % 250)
    if (used.includes(` 10.231.${n}.`)) continue
    const state = join(base, String(n))
    try {
      mkdirSync(state, {mode: 0o700})
    } catch {
      continue // another run's
    }
    writeFileSync(join(state, 'owner'), String(process.pid))
    return {n, state}
  }
  throw new Error('no free test bed slot (10.231.1-250.0/24 all in use)')
}

function envOf(n: number, state: string): NodeJS.ProcessEnv {
  return {...process.env, TB_STATE: state, TB_PREFIX: `kb${n}`, TB_SUBNET: `10.231.${n}`, TB_HIDE_DIRS: ROOT, TB_HOST_TMPFS_SIZE: '512m'}
}

function script(args: string[], env: NodeJS.ProcessEnv): {status: number | null; stderr: string} {
  const r = spawnSync('bash', [SCRIPT, ...args], {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  return {status: r.status, stderr: r.stderr}
}

/**
 * Brings up h1..hn (n ≤ 20) and waits until every sshd answers. Hosts in `systemd` boot
 * systemd as their PID 1 (sshd is one of its units), as a real machine would.
 */
export async function up(n: number, options: {systemd?: string[]} = {}): Promise<Testbed> {
  const reason = options.systemd?.length ? systemdBedUnavailable() : testbedUnavailable()
  if (reason) throw new Error(reason)
  const slot = claimSlot()
  const env = {...envOf(slot.n, slot.state), TB_SYSTEMD: (options.systemd ?? []).join(' ')}
  const down = async (): Promise<void> => {
    script(['down'], env)
    rmSync(slot.state, {recursive: true, force: true})
  }
  const res = await execa('bash', [SCRIPT, 'up', String(n)], {env, reject: false, stdin: 'ignore'})
  if (res.exitCode !== 0) {
    await down()
    throw new Error(`test bed did not come up (exit ${res.exitCode}): ${res.stderr}`)
  }
  const hosts = Array.from({length: n}, (_, i) => ({
    name: `h${i + 1}`,
    address: `10.231.${slot.n}.${11 + i}`,
    hostKeyFile: join(slot.state, `h${i + 1}`, 'ssh_host_ed25519_key.pub'),
  }))
  return {
    hosts,
    sshConfig: join(slot.state, 'ssh_config'),
    key: join(slot.state, 'id_ed25519'),
    knownHosts: join(slot.state, 'known_hosts'),
    prefix: `kb${slot.n}`,
    subnet: `10.231.${slot.n}`,
    async exec(host, cmd) {
      const r = await execa('bash', [SCRIPT, 'exec', host, 'sh', '-c', cmd], {env, reject: false, stdin: 'ignore'})
      return {exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
    },
    async poweroff(host) {
      const r = await execa('bash', [SCRIPT, 'poweroff', host], {env, reject: false, stdin: 'ignore'})
      if (r.exitCode !== 0) throw new Error(`poweroff ${host} failed (exit ${r.exitCode}): ${r.stderr}`)
    },
    down,
  }
}

/**
 * A kctl.yaml for a cluster on the bed: every bed host declared (under `names`, h1… by
 * default), reached as root with the bed's key and known_hosts; `body` is the rest of
 * `spec` (database, nodes, …), indented by two spaces.
 */
export function bedSpec(bed: Testbed, o: {name: string; mode: string; body: string; names?: string[]}): string {
  const hosts = bed.hosts.map((h, i) => `    - {name: ${o.names?.[i] ?? h.name}, ssh: {address: ${h.address}}}`)
  return `apiVersion: kctl/v1
kind: Cluster
metadata: {name: ${o.name}}
spec:
  mode: ${o.mode}
  ssh: {user: root, identityFile: ${bed.key}, knownHostsFile: ${bed.knownHosts}, configFile: /dev/null}
  hosts:
${hosts.join('\n')}
${o.body}`
}

/** The hybrid layout of the three-host tests: Postgres and cp-1 on h1, dp-1 on h2, dp-2 on h3. */
export const HYBRID_ON_THREE_HOSTS = `  database: {embedded: true, host: h1}
  nodes:
    - {name: cp-1, role: control_plane, host: h1}
    - {name: dp-1, role: data_plane, host: h2}
    - {name: dp-2, role: data_plane, host: h3}
`

/** kong.yaml whose route /hello the node answers itself (request-termination: 200 "served remotely"). */
export const SERVED_REMOTELY_KONG_YAML = `_format_version: "3.0"
services:
  - name: hello
    url: http://127.0.0.1:9
    routes:
      - name: hello
        paths: [/hello]
    plugins:
      - name: request-termination
        config: {status_code: 200, message: served remotely}
`

/**
 * What of kctl a bed host holds: its folders, users, processes (sshd's aside), units. Compare
 * with the value read before kctl touched the host (the hosts share this machine's /etc/passwd).
 */
export async function kctlTraces(bed: Testbed, host: string): Promise<string> {
  const r = await bed.exec(host, 'ls -d /opt/kctl /etc/kctl /var/lib/kctl 2>/dev/null; grep "^kctl" /etc/passwd; ps -eo pid=,args= | grep -v -e sshd -e "ps -eo" -e "sh -c" -e grep; ls /etc/systemd/system 2>/dev/null | grep kctl; true')
  return r.stdout.trim()
}

/** What of a bed with this prefix is still on the machine (network namespaces, links): for asserting `down`. */
export function leftovers(prefix: string): string[] {
  const ns = (spawnSync('ip', ['netns', 'list'], {encoding: 'utf8'}).stdout ?? '').split('\n').map((l) => l.split(' ')[0])
  const links = (spawnSync('ip', ['-o', 'link', 'show'], {encoding: 'utf8'}).stdout ?? '').split('\n').map((l) => (l.split(': ')[1] ?? '').replace(/@.*/, ''))
  return [...ns, ...links].filter((x) => x.startsWith(`${prefix}-`))
}
