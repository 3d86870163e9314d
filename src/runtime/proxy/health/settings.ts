/**
 * Reading an upstream's `healthchecks` (Kong's schema and defaults, see
 * schema/entities/upstreams.ts). Kong's rule for "are health checks on": an active
 * interval, or a passive unhealthy threshold, is not 0. A passive `healthy.successes`
 * alone does not turn them on: nothing could ever mark a target unhealthy.
 */

import type {Upstream} from '../balancer/index.js'

export type CheckKind = 'active' | 'passive'

export function checksOn(upstream: Upstream | undefined): boolean {
  const hc = upstream?.healthchecks
  if (!hc) return false
  return (hc.active?.healthy?.interval ?? 0) !== 0
    || (hc.active?.unhealthy?.interval ?? 0) !== 0
    || (hc.passive?.unhealthy?.tcp_failures ?? 0) !== 0
    || (hc.passive?.unhealthy?.timeouts ?? 0) !== 0
    || (hc.passive?.unhealthy?.http_failures ?? 0) !== 0
}

/** The thresholds and status lists of one kind of check, with Kong's defaults when absent. */
export interface Thresholds {
  healthyStatuses: ReadonlySet<number>
  unhealthyStatuses: ReadonlySet<number>
  successes: number
  httpFailures: number
  tcpFailures: number
  timeouts: number
}

export function thresholds(upstream: Upstream | undefined, kind: CheckKind): Thresholds {
  const c = upstream?.healthchecks?.[kind]
  return {
    healthyStatuses: new Set<number>(c?.healthy?.http_statuses ?? []),
    unhealthyStatuses: new Set<number>(c?.unhealthy?.http_statuses ?? []),
    successes: c?.healthy?.successes ?? 0,
    httpFailures: c?.unhealthy?.http_failures ?? 0,
    tcpFailures: c?.unhealthy?.tcp_failures ?? 0,
    timeouts: c?.unhealthy?.timeouts ?? 0,
  }
}
