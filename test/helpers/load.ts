/**
 * A bounded load for "0 failed requests while …" tests: `concurrency` client loops, one
 * request at a time each; even loops reuse one keep-alive connection, odd loops open a new
 * connection per request. Every failure is counted, none retried, so a closed or refused
 * connection shows up in the totals.
 */
import {Agent, request} from 'node:http'

export interface Shot {
  start: number
  end: number
  ok: boolean
  /** Why it failed: `status 502`, `ECONNRESET`, … */
  code?: string
}

export interface RunningLoad {
  /** Requests answered (or failed) so far: wait on it, never on the clock, for "the load is under way". */
  done(): number
  /** Stops the loops after their request in flight; resolves with every request made. */
  stop(): Promise<Shot[]>
}

/** One GET: ok when the answer is `expect` (200 by default). */
export function shot(url: string, agent: Agent | false, expect = 200): Promise<Shot> {
  return new Promise<Shot>((resolve) => {
    const start = Date.now()
    const fail = (err: NodeJS.ErrnoException) => resolve({start, end: Date.now(), ok: false, code: err.code ?? err.message})
    const req = request(url, {agent}, (res) => {
      res.resume()
      res.on('end', () => resolve({start, end: Date.now(), ok: res.statusCode === expect, code: res.statusCode === expect ? undefined : `status ${res.statusCode}`}))
      res.on('error', fail)
    })
    req.on('error', fail)
    req.end()
  })
}

export function startLoad(url: string, concurrency: number, expect = 200): RunningLoad {
  const shots: Shot[] = []
  let running = true
  const loop = async (i: number) => {
    const agent = i % 2 === 0 ? new Agent({keepAlive: true, maxSockets: 1}) : false
    while (running) shots.push(await shot(url, agent, expect))
    if (agent) agent.destroy()
  }
  const loops = Promise.all(Array.from({length: concurrency}, (_, i) => loop(i)))
  return {
    done: () => shots.length,
    async stop() {
      running = false
      await loops
      return shots
    },
  }
}

/** `concurrency` loops for `durationMs`. */
export async function load(url: string, concurrency: number, durationMs: number, expect = 200): Promise<Shot[]> {
  const l = startLoad(url, concurrency, expect)
  await new Promise((r) => setTimeout(r, durationMs))
  return l.stop()
}

/** The failures of a run, counted by cause, for an assertion message. */
export function failures(shots: Shot[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of shots) if (!s.ok) out[s.code ?? '?'] = (out[s.code ?? '?'] ?? 0) + 1
  return out
}
