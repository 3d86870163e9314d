/**
 * Runs wrk (with --latency) and parses requests/s, p50, p99, errors. Latencies are
 * returned in milliseconds.
 */
import {execFile} from 'node:child_process'

const UNIT = {us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000}

function ms(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text)
  return m ? Number(m[1]) * UNIT[m[2]] : NaN
}

export function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN)
  const pct = (p) => ms(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '')
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
  const max = ms(/^\s+Latency\s+\S+\s+\S+\s+(\S+)/m.exec(out)?.[1] ?? '')
  return {rps, p50: pct(50), p99: pct(99), max, non2xx, socketErrors, requests}
}

/**
 * One wrk run. `cpus` pins wrk with taskset; `headers` are sent on every request;
 * `timeout` (s) is wrk's per-request timeout (its default is 2 s).
 * Rejects when wrk fails or prints no figures.
 */
export function runWrk({url, seconds = 5, connections = 50, threads = 1, headers = {}, cpus, timeout}) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency']
  if (timeout !== undefined) args.push('--timeout', `${timeout}s`)
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`)
  args.push(url)
  const [cmd, argv] = cpus !== undefined ? ['taskset', ['-c', String(cpus), 'wrk', ...args]] : ['wrk', args]
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, {timeout: (seconds + 30) * 1000}, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk failed: ${err.message} ${stderr}`))
      const r = parseWrk(stdout)
      if (!Number.isFinite(r.rps)) return reject(new Error(`could not parse wrk output:\n${stdout}`))
      resolve(r)
    })
  })
}
