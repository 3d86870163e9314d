/**
 * Processes a benchmark starts: free ports on 127.0.0.1, temp dirs, children started
 * with an optional CPU pin (taskset) and stopped by pid. Every child is registered, so
 * `stopAll()` (also run on exit, SIGINT and SIGTERM) leaves nothing behind on failure.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {createServer, connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const children = new Map()
const dirs = new Set()

/** A port free on 127.0.0.1 right now (bound, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** A fresh temp dir, removed by `stopAll()`. */
export function tempDir(prefix = 'kctl-bench-') {
  const d = mkdtempSync(join(tmpdir(), prefix))
  dirs.add(d)
  return d
}

/**
 * Starts `cmd args`; `cpus` (e.g. "0") pins it with taskset when given.
 * Returns {pid, child, stop(), output()}; output() is the last 8 KiB of stdout+stderr.
 */
export function startProcess(name, cmd, args, {cpus, env, cwd} = {}) {
  const argv = cpus !== undefined ? ['taskset', ['-c', String(cpus), cmd, ...args]] : [cmd, args]
  const child = spawn(argv[0], argv[1], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}, cwd})
  return track(name, child)
}

/**
 * Registers a child started elsewhere (e.g. with `fork`), so `stopAll()` and the exit
 * hooks stop it by pid. Returns the same handle as `startProcess`.
 */
export function track(name, child) {
  let out = ''
  const keep = (b) => (out = (out + b.toString()).slice(-8192))
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve({code, sig})))
  const proc = {
    name,
    pid: child.pid,
    child,
    exited,
    output: () => out,
    async stop(signal = 'SIGTERM', graceMs = 3000) {
      children.delete(child.pid)
      if (child.exitCode !== null || child.signalCode !== null) return
      try { process.kill(child.pid, signal) } catch { return }
      const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL') } catch {} }, graceMs)
      await exited
      clearTimeout(t)
    },
  }
  children.set(child.pid, proc)
  return proc
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects after `ms`. */
export async function waitForPort(port, ms = 15_000, proc) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}): ${proc.output()}`)
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${ms} ms${proc ? `: ${proc.output()}` : ''}`)
}

const cleanups = []
/** Runs `fn` (async) in `stopAll()`, after the processes stopped: e.g. a Postgres server stopped by its pid. */
export function onStop(fn) {
  cleanups.push(fn)
}

/** Stops every process started here (by pid), runs the `onStop` hooks, removes temp dirs. */
export async function stopAll() {
  await Promise.all([...children.values()].map((p) => p.stop()))
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((err) => console.error(`cleanup failed: ${err.message}`))
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
  dirs.clear()
}

let hooked = false
/** Stops everything on exit and on SIGINT/SIGTERM; call once from a script's main. */
export function stopOnExit() {
  if (hooked) return
  hooked = true
  process.on('exit', () => {
    for (const pid of children.keys()) try { process.kill(pid, 'SIGKILL') } catch {}
    for (const d of dirs) rmSync(d, {recursive: true, force: true})
  })
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void stopAll().finally(() => process.exit(130)))
}

/** A process's /proc/<pid>/stat fields after its name: [state, ppid, …]; null once it is gone. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

/**
 * CPU time (user + system, in clock ticks: 10 ms on Linux) of a process and of every
 * process under it (nginx's workers, kctl's proxy workers). Linux only.
 */
export function treeTicks(pid) {
  const {user, system} = treeTimes(pid)
  return user + system
}

/** `treeTicks`, split: user time (the process's own code) and system time (the kernel's work for it: sockets, …). */
export function treeTimes(pid) {
  const parentOf = new Map()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const f = statFields(name)
    if (f) parentOf.set(Number(name), {ppid: Number(f[1]), user: Number(f[11]), system: Number(f[12])})
  }
  const inTree = (p) => {
    for (let at = p; at > 1; at = parentOf.get(at)?.ppid ?? 0) if (at === pid) return true
    return false
  }
  const total = {user: 0, system: 0}
  for (const [p, {user, system}] of parentOf) {
    if (!inTree(p)) continue
    total.user += user
    total.system += system
  }
  return total
}
