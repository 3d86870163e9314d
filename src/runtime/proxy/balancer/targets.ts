/**
 * A target's address as configured (Kong's `runloop/balancer/targets`): how the balancer
 * builds its peers and how health checks and the Admin API name a target.
 */

/** `host:port`, `[v6]:port`, or a bare host (port 8000, Kong's default). */
export function parseTarget(target: string): {host: string; port: number} {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(target) ?? /^([^:]+)(?::(\d+))?$/.exec(target)
  if (!m) return {host: target, port: 8000}
  return {host: m[1], port: m[2] ? Number(m[2]) : 8000}
}
