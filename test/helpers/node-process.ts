/**
 * Gateway nodes as real processes (`dist/src/runtime/main.js --conf …`) with a conf file
 * in a temp prefix, output captured for assertions. Every process started here is
 * killed by `killAll()` (call it in `after`).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {until} from './until.js'

const MAIN = new URL('../../src/runtime/main.js', import.meta.url).pathname
const started: ChildProcess[] = []

export interface NodeProcess {
  proc: ChildProcess
  prefix: string
  output(): string
  exited: Promise<number | null>
  /** Resolves when `/status/ready` answers 200 (needs `status` set). */
  waitReady(timeoutMs?: number): Promise<void>
  waitOutput(re: RegExp, timeoutMs?: number): Promise<void>
  stop(signal?: NodeJS.Signals): Promise<number | null>
  /** The pid of the node's serving process (`proc` is its supervisor), once it runs. */
  servingPid(timeoutMs?: number): Promise<number>
}

export function spawnNode(dir: string, values: Record<string, string | number>, opts: {prefix?: string; status?: string} = {}): NodeProcess {
  const prefix = opts.prefix ?? mkdtempSync(join(dir, 'prefix-'))
  const conf = join(prefix, 'kong.conf')
  writeFileSync(conf, Object.entries({prefix, ...values}).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n')
  const proc = spawn(process.execPath, [MAIN, '--conf', conf], {stdio: ['ignore', 'pipe', 'pipe']})
  started.push(proc)
  let out = ''
  proc.stdout!.on('data', (d) => (out += d))
  proc.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
  const wait = (what: string, ok: () => Promise<boolean> | boolean, timeoutMs: number) =>
    until(what, ok, {
      timeoutMs,
      abort: () => (proc.exitCode !== null ? `the node exited (${proc.exitCode})` : undefined),
      context: () => `node output:\n${out}`,
    }).then(() => undefined)
  return {
    proc,
    prefix,
    output: () => out,
    exited,
    waitReady: (timeoutMs = 30_000) =>
      wait(`${opts.status}/status/ready to answer 200`, async () => (await fetch(`${opts.status}/status/ready`).catch(() => null))?.status === 200, timeoutMs),
    waitOutput: (re, timeoutMs = 30_000) => wait(`the node to print ${re}`, () => re.test(out), timeoutMs),
    async servingPid(timeoutMs = 30_000) {
      let pid = 0
      await wait('the serving process', () => {
        try {
          const r = JSON.parse(readFileSync(join(prefix, 'supervisor.json'), 'utf8'))
          pid = r.state === 'running' && r.serving_pid ? r.serving_pid : 0
        } catch {
          pid = 0
        }
        return pid > 0
      }, timeoutMs)
      return pid
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      return exited
    },
  }
}

export function killAll(): void {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
}
