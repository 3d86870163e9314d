/**
 * What must hold on a host before kctl installs or starts anything there, checked through
 * its Host (so the same for this machine and one reached over SSH):
 *
 *   ssh    reachable and authenticated (host key known or accepted)
 *   os     Linux on x64 or arm64
 *   node   Node ≥ 20.18 present, or this machine's Node can be uploaded (same OS/arch)
 *   disk   free space for the install under its install folder
 *   ports  every port the spec gives that host is free there
 *   clock  under 30 s apart from this machine (certificates are checked against it)
 *
 * and, once the database and control planes are up (connectivity): a real TCP connection from
 * every node host to the database (traditional nodes, control planes) and to a control plane's
 * cluster port (data planes).
 *
 * Every failure names the host, the check, what was found and what to do.
 */
import {parseListen, connectHost} from './listen.js'
import type {Host} from './hosts/host.js'
import {LOCAL_HOST_NAME} from './spec-hosts.js'

export type CheckName = 'ssh' | 'os' | 'node' | 'disk' | 'ports' | 'clock' | 'connectivity'

export interface HostCheck {
  host: string
  check: CheckName
  ok: boolean
  /** What was found (`linux/x64`, `node v22.3.0`, `port 8000 in use by …`). */
  found: string
  /** What to do about a failure. */
  fix?: string
  /** The error code of an SSH failure (HOST_UNREACHABLE, HOST_AUTH_FAILED, HOST_KEY_UNKNOWN, HOST_KEY_CHANGED). */
  code?: string
}

/** A port the spec gives a host: who listens there, under which spec key. */
export interface PlannedPort {
  address: string
  port: number
  /** `proxy_listen of dp-1`, `the embedded database`. */
  what: string
  /** `spec.nodes[1].proxy_listen`. */
  key: string
}

export interface HostCheckInput {
  host: Host
  /** Where the install goes (`/opt/kctl`): free space is measured there. */
  installPath?: string
  /** Bytes the install needs there. */
  diskNeeded?: number
  /** The version to install: when `<installPath>/<version>` is there already, a re-run adds little and needs no room. */
  installVersion?: string
  ports: PlannedPort[]
}

/** Supported for nodes on another host. */
export const SUPPORTED_PLATFORMS = ['linux/x64', 'linux/arm64'] as const
/** The oldest Node the runtime runs on. */
export const MIN_NODE = [20, 18, 0] as const
/** How far a host's clock may be from this machine's. */
export const MAX_CLOCK_SKEW_MS = 30_000
/** The runtime bundle and a Node binary, with room to spare. */
export const INSTALL_BYTES = 200 * 2 ** 20
/** …plus the embedded Postgres binaries on the database host. */
export const POSTGRES_INSTALL_BYTES = 100 * 2 ** 20

const mb = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MB`

/** True for `v20.18.0` and later. */
export function nodeVersionOk(version: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? '')
  if (!m) return false
  const v = [Number(m[1]), Number(m[2]), Number(m[3])]
  for (let i = 0; i < 3; i++) if (v[i] !== MIN_NODE[i]) return v[i] > MIN_NODE[i]
  return true
}

/**
 * Every check for one host. Never throws: an SSH failure is the `ssh` check's result, and the
 * checks that need the connection are then left out.
 */
export async function checkHost(input: HostCheckInput): Promise<HostCheck[]> {
  const {host} = input
  const name = host.name
  const at = (check: CheckName, ok: boolean, found: string, fix?: string): HostCheck => ({host: name, check, ok, found, ...(fix ? {fix} : {})})
  let facts
  try {
    facts = await host.facts()
  } catch (err) {
    const e = err as Error & {code?: string; hint?: string}
    return [{host: name, check: 'ssh', ok: false, found: e.message, fix: e.hint ?? `Check that host ${name} is up and reachable, then run again.`, ...(e.code ? {code: e.code} : {})}]
  }
  const out: HostCheck[] = []
  if (!host.isLocal) {
    out.push(at('ssh', true, `connected (${facts.hostname})`))
    const platform = `${facts.os}/${facts.arch}`
    const supported = (SUPPORTED_PLATFORMS as readonly string[]).includes(platform)
    out.push(at('os', supported, platform, supported ? undefined : `kctl runs nodes on ${SUPPORTED_PLATFORMS.join(' and ')}; move the nodes of ${name} to a host with one of those (spec.nodes[].host).`))
    if (supported) out.push(nodeCheck(name, facts.nodeVersion, platform))
    if (input.installPath) out.push(await diskCheck(host, input.installPath, input.diskNeeded ?? INSTALL_BYTES, input.installVersion))
    out.push(await clockCheck(host))
  }
  out.push(await portsCheck(host, input.ports))
  return out
}

function nodeCheck(name: string, version: string | undefined, platform: string): HostCheck {
  const base = {host: name, check: 'node' as const}
  const min = `v${MIN_NODE.join('.')}`
  if (nodeVersionOk(version)) return {...base, ok: true, found: `node ${version} present`}
  const local = `${process.platform}/${process.arch}`
  const had = version ? `node ${version} (older than ${min})` : 'no node'
  if (platform === local) return {...base, ok: true, found: `${had}; kctl uploads its own (node ${process.version}, ${local})`}
  return {
    ...base,
    ok: false,
    found: `${had}, and this machine's node (${local}) cannot run on ${platform}`,
    fix: `Install Node ${min} or later for ${platform} on ${name} (e.g. from nodejs.org or NodeSource), or run kctl from a ${platform} machine so it can upload its own.`,
  }
}

async function diskCheck(host: Host, installPath: string, needed: number, version?: string): Promise<HostCheck> {
  const base = {host: host.name, check: 'disk' as const}
  if (version) {
    const there = `${installPath.replace(/\/+$/, '')}/${version}`
    const r = await host.run('test', ['-d', there], {reject: false, timeoutMs: 20_000}).catch(() => ({exitCode: -1}))
    if (r.exitCode === 0) return {...base, ok: true, found: `kctl ${version} already installed at ${there}`}
  }
  // The install folder may not exist yet: measure the nearest folder that does.
  const script = 'p=$1; while [ ! -e "$p" ]; do p=$(dirname -- "$p"); done; df -Pk -- "$p" | tail -n 1; echo "$p"'
  const r = await host.run('sh', ['-c', script, 'sh', installPath], {reject: false, timeoutMs: 20_000}).catch((err: Error) => ({exitCode: -1, stdout: '', stderr: err.message}))
  const [line = '', where = installPath] = r.stdout.trim().split('\n')
  const avail = Number(line.trim().split(/\s+/)[3]) * 1024
  if (r.exitCode !== 0 || !Number.isFinite(avail)) {
    return {...base, ok: false, found: `could not measure free space at ${installPath} (${(r.stderr || r.stdout).trim() || `exit ${r.exitCode}`})`, fix: `Check that \`df -Pk ${where}\` works on ${host.name}.`}
  }
  if (avail >= needed) return {...base, ok: true, found: `${mb(avail)} free at ${where}`}
  return {...base, ok: false, found: `${mb(avail)} free at ${where}, the install needs ${mb(needed)}`, fix: `Free space on ${host.name} under ${where}, or point spec.hosts[].paths.install at a filesystem with ${mb(needed)} free.`}
}

async function clockCheck(host: Host): Promise<HostCheck> {
  const base = {host: host.name, check: 'clock' as const}
  const before = Date.now()
  // GNU date has %N (nanoseconds); others print a literal N: whole seconds then.
  const r = await host.run('date', ['+%s.%N'], {reject: false, timeoutMs: 20_000}).catch((err: Error) => ({exitCode: -1, stdout: '', stderr: err.message}))
  const after = Date.now()
  const remote = Number.parseFloat(r.stdout.trim()) * 1000
  if (r.exitCode !== 0 || !Number.isFinite(remote)) return {...base, ok: false, found: `could not read the clock (${r.stderr.trim() || `exit ${r.exitCode}`})`, fix: `Check that \`date\` works on ${host.name}.`}
  // The host read its clock somewhere between `before` and `after`: only what exceeds that window is skew.
  const offset = remote - (before + after) / 2
  const skew = Math.max(0, Math.abs(offset) - (after - before) / 2 - 1000)
  const seconds = Math.round(Math.abs(offset) / 1000)
  const found = seconds === 0 ? 'in step with this machine' : `${seconds} s ${offset > 0 ? 'ahead of' : 'behind'} this machine`
  if (skew <= MAX_CLOCK_SKEW_MS) return {...base, ok: true, found}
  return {...base, ok: false, found, fix: `Synchronise the clocks of ${host.name} and this machine (NTP: \`timedatectl set-ntp true\`, chrony); hybrid certificates are checked against them and need them within ${MAX_CLOCK_SKEW_MS / 1000} s.`}
}

async function portsCheck(host: Host, ports: PlannedPort[]): Promise<HostCheck> {
  const base = {host: host.name, check: 'ports' as const}
  const results = await Promise.all(ports.map(async (p) => ({p, free: await host.portFree(p.address, p.port)})))
  const taken = results.filter((r) => !r.free).map((r) => r.p)
  if (taken.length === 0) return {...base, ok: true, found: ports.length ? `${ports.map((p) => p.port).join(', ')} free` : 'no ports to check'}
  return {
    ...base,
    ok: false,
    found: taken.map((p) => `port ${p.port} (${p.what}) is in use`).join('; '),
    fix: `Stop what listens on ${taken.length === 1 ? `port ${taken[0].port}` : `ports ${taken.map((p) => p.port).join(', ')}`} on ${host.name}, or change ${[...new Set(taken.map((p) => p.key))].join(', ')} in the spec.`,
  }
}

/** The ports of a listen value (`0.0.0.0:8000, 0.0.0.0:8443 ssl`), each named for messages. */
export function listenPorts(value: string | undefined, what: string, key: string): PlannedPort[] {
  if (!value) return []
  const parsed = parseListen(value)
  return typeof parsed === 'string' ? [] : parsed.map((a) => ({address: a.host, port: a.port, what, key}))
}

/** One TCP connection the cluster needs: from `from` to `address:port`. */
export interface ConnectivityTarget {
  /** The host the connection starts from. */
  from: Host
  /** The node that needs it (`dp-1`). */
  node: string
  address: string
  port: number
  /** `the database`, `the cluster port of cp-1`. */
  what: string
}

/** What a failed connection attempt says to do, by what it tried to reach. */
export type ConnectivityFix = (t: ConnectivityTarget, found: string) => string

/**
 * Opens a real TCP connection from each target's host (bash's /dev/tcp, else nc, else perl),
 * in parallel. Never throws: each target gives a `connectivity` check.
 */
export async function checkConnectivity(targets: ConnectivityTarget[], fix: ConnectivityFix): Promise<HostCheck[]> {
  const script = [
    'a=$1; p=$2',
    `if command -v bash >/dev/null 2>&1; then exec timeout 10 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$a" "$p"; fi`,
    'if command -v nc >/dev/null 2>&1; then exec nc -z -w 10 "$a" "$p"; fi',
    `exec perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr=>$ARGV[0],PeerPort=>$ARGV[1],Timeout=>10) or die "$!\\n"' "$a" "$p"`,
  ].join('\n')
  return Promise.all(
    targets.map(async (t): Promise<HostCheck> => {
      const base = {host: t.from.name, check: 'connectivity' as const}
      const to = `${t.address}:${t.port}`
      const r = await t.from.run('sh', ['-c', script, 'sh', t.address, String(t.port)], {reject: false, timeoutMs: 30_000}).catch((err: Error) => ({exitCode: -1, stdout: '', stderr: err.message}))
      if (r.exitCode === 0) return {...base, ok: true, found: `${t.node} reaches ${t.what} at ${to}`}
      const why = r.exitCode === 124 ? 'timed out' : r.stderr.replace(/^.*?: (?=[A-Z])/gm, '').trim().split('\n').pop() || `exit ${r.exitCode}`
      const found = `${t.node} cannot reach ${t.what} at ${to} (${why})`
      return {...base, ok: false, found, fix: fix(t, why)}
    }),
  )
}

/** The address a listener is reached at from another machine: a wildcard means the host's own address. */
export function reachableAddress(listenHost: string, host: Host): string {
  const h = connectHost(listenHost)
  return (h === '127.0.0.1' || h === '::1') && listenHost !== '127.0.0.1' && listenHost !== '::1' && !host.isLocal ? host.address : h
}

export const isLocalName = (name: string | undefined): boolean => (name ?? LOCAL_HOST_NAME) === LOCAL_HOST_NAME
