/**
 * Drives a command in a detached tmux session on its own socket: type keys, read the
 * screen. tmux is installed with apt-get when missing (CI images often lack it).
 */
import {execFile, execFileSync, spawnSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before} from 'node:test'
import {promisify} from 'node:util'
import {ROOT} from '../helpers/kctl.js'
import {type Cluster, startCluster} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'
import {ensureCommand} from '../helpers/system.js'

export const ensureTmux = (): void => ensureCommand('tmux')

export interface TmuxSession {
  /** The visible screen, as text (no escape codes). */
  screen(): string
  /** The same without blocking the event loop (for capturing while other work goes on). */
  screenAsync(): Promise<string>
  keys(...keys: string[]): void
  /** Polls the screen until `test` passes; returns that screen. @throws with the last screen. */
  waitFor(test: (screen: string) => boolean, what: string, timeoutMs?: number): Promise<string>
  /** The pane's exit status once the command ended (null while it runs). */
  exitStatus(): number | null
  /** Whether the terminal shows its cursor (a dashboard hides it while it runs). */
  cursorVisible(): boolean
  kill(): void
}

export function startTmux(name: string, command: string, opts: {cwd: string; env: Record<string, string>; width?: number; height?: number}): TmuxSession {
  // a socket file of its own, removed by kill() (tmux leaves it behind when its server ends)
  const socket = join(tmpdir(), `kctl-test-tmux-${name}-${process.pid}`)
  const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], {encoding: 'utf8'})
  const env = Object.entries(opts.env).map(([k, v]) => `${k}='${v}'`).join(' ')
  // After the command: its exit status and whether the terminal is back in canonical mode.
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', name, '-x', String(opts.width ?? 220), '-y', String(opts.height ?? 50), '-c', opts.cwd, `env -u CI ${env} ${command}; echo "EXIT:$?"; echo "TTY: $(stty -a | grep -o -- '-\\?icanon')"; sleep 30`)
  const session: TmuxSession = {
    screen: () => tmux('capture-pane', '-p', '-t', name),
    screenAsync: async () => (await promisify(execFile)('tmux', ['-S', socket, 'capture-pane', '-p', '-t', name], {encoding: 'utf8'})).stdout,
    keys: (...keys) => void tmux('send-keys', '-t', name, ...keys),
    waitFor: (test, what, timeoutMs) => until(what, () => session.screen(), {ok: test, timeoutMs}),
    exitStatus() {
      const m = /EXIT:(\d+)/.exec(session.screen())
      return m ? Number(m[1]) : null
    },
    cursorVisible: () => tmux('display-message', '-p', '-t', name, '#{cursor_flag}').trim() === '1',
    kill: () => {
      spawnSync('tmux', ['-S', socket, 'kill-server'], {stdio: 'ignore'})
      rmSync(socket, {force: true})
    },
  }
  return session
}

/**
 * A test file's dashboard ground: a real hybrid cluster made by `kctl init` (cp-1, dp-1,
 * dp-2; its kctl.yaml sets `cluster_ping_interval: 2`), and `watch()` to run the real CLI's
 * `kctl status --watch` against it in tmux. Both are ended after the file, also when it fails.
 */
export function watchBed(): {readonly cluster: Cluster; watch(name: string, flags: string[], env?: Record<string, string>): TmuxSession} {
  let cluster: Cluster | undefined
  const sessions: TmuxSession[] = []
  before(async () => {
    ensureTmux()
    cluster = await startCluster({mode: 'hybrid', name: 'st', dataPlanes: 2, pingInterval: 2})
  })
  after(async () => {
    for (const s of sessions) s.kill()
    await cluster?.cleanup()
  })
  return {
    get cluster() {
      if (!cluster) throw new Error('The cluster starts in the file\'s before hook.')
      return cluster
    },
    watch(name, flags, env = {}) {
      const c = this.cluster
      const session = startTmux(name, `${process.execPath} ${join(ROOT, 'bin', 'run.js')} status --watch ${flags.join(' ')}`, {cwd: c.cwd, env: {KCTL_DATA_DIR: c.dataDir, ...env}})
      sessions.push(session)
      return session
    },
  }
}
