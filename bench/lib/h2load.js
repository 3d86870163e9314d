/**
 * One h2load run at a fixed rate (`--h1 -c <connections> --rps <rate / connections>`),
 * every request's latency read from its `--log-file`. Resolves with the latencies in ms
 * (sorted), how many answers were not 200, and how many requests h2load counted as failed.
 */
import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {ensureTool} from './tools.js'

/** wrk (for the maxima and the warm-up) and h2load (Debian's nghttp2-client), installed when missing. */
export function ensureLoadTools() {
  ensureTool('wrk')
  ensureTool('h2load', 'nghttp2-client')
}

export function runH2load({url, headers = {}, rate, seconds, connections = 50, log, cpus}) {
  const args = ['--h1', '-c', String(connections), '--rps', String(Math.max(1, Math.round(rate / connections))), '-D', String(seconds), '--log-file', log]
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`)
  args.push(url)
  const [cmd, argv] = cpus !== undefined ? ['taskset', ['-c', String(cpus), 'h2load', ...args]] : ['h2load', args]
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, {timeout: (seconds + 60) * 1000, maxBuffer: 16 * 2 ** 20}, (err, stdout, stderr) => {
      if (err) return reject(new Error(`h2load failed: ${err.message} ${stderr}`))
      const ms = []
      let bad = 0
      for (const line of readFileSync(log, 'utf8').split('\n')) {
        if (!line) continue
        const [, status, us] = line.split('\t')
        if (status !== '200') bad++
        ms.push(Number(us) / 1000)
      }
      ms.sort((a, b) => a - b)
      resolve({ms, bad, failed: Number(/(\d+) failed/.exec(stdout)?.[1] ?? 0)})
    })
  })
}
