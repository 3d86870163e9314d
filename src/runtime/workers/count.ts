/**
 * `node_worker_processes`: how many proxy processes a node runs. Kong accepts `auto`
 * (one per core) or a positive integer for its nginx workers; so do we.
 *
 * Our default stays `1`, not Kong's `auto`: the CLI's local clusters and the test suite
 * start several nodes side by side on small machines, where `auto` would multiply the
 * processes (memory, start time) without adding cores; and the `local` rate-limiting
 * policy counts per process (see BENCHMARKS.md, proxy section), so one process keeps its
 * limits exact. Set `auto` on a node that has cores to itself.
 */
import {availableParallelism} from 'node:os'

/** @throws Error naming the key when `value` is neither `auto` nor a positive integer. */
export function workerCount(value: unknown): number {
  const text = String(value ?? '').trim()
  if (text === 'auto') return availableParallelism()
  if (/^[0-9]+$/.test(text) && Number(text) >= 1) return Number(text)
  throw new Error(`node_worker_processes must be 'auto' or a positive integer (got '${text}')`)
}
