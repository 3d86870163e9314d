/**
 * One target's health: a state and four counters, with the semantics of Kong's
 * health checker (lua-resty-healthcheck):
 *
 *   - a success resets the failure counters; any failure resets the success counter;
 *   - a counter reaching its threshold flips the state (a threshold of 0 disables it);
 *   - between the two, a healthy target that failed is "mostly healthy" (still healthy
 *     for traffic) and an unhealthy one that succeeded is "mostly unhealthy";
 *   - a fully healthy target ignores successes, a fully unhealthy one ignores failures;
 *   - setting the state by hand (Admin API) clears the counters.
 *
 * An HTTP status counts as a success when it is in `healthy.http_statuses`, as an HTTP
 * failure when it is in `unhealthy.http_statuses`; a status in neither list is ignored,
 * active or passive. Status 0 (an active probe got no valid status line) is an HTTP
 * failure, whatever the lists say.
 */
import type {Resolution} from '../dns.js'
import type {CheckKind, Thresholds} from './settings.js'

type Internal = 'healthy' | 'mostly_healthy' | 'unhealthy' | 'mostly_unhealthy'
type Counter = 'success' | 'http' | 'tcp' | 'timeout'

/** What one try or probe showed about a target. */
export type Outcome =
  | {status: number}
  | {failure: 'tcp' | 'timeout'}
  /** An active TCP probe connected. */
  | {success: true}

export class TargetHealth {
  private state: Internal = 'healthy'
  private readonly counters: Record<Counter, number> = {success: 0, http: 0, tcp: 0, timeout: 0}
  /** A proxied try or a probe failed to resolve the target's name (Kong's DNS_ERROR); cleared by any answer and by the name resolving again. */
  dnsError = false
  /** What the target's name resolved to last (the registry resolves it); null before that. */
  resolution: Resolution | null = null
  /** The registry's query for it, while one runs. */
  resolving: Promise<void> | null = null

  constructor(
    /** The target entity's id: a target deleted and added again starts over. */
    readonly targetId: string,
    public weight: number,
  ) {}

  get healthy(): boolean {
    return this.state === 'healthy' || this.state === 'mostly_healthy'
  }

  /** Counts one outcome; true when the public state (healthy or not) changed. */
  report(outcome: Outcome, t: Thresholds, _kind: CheckKind): boolean {
    this.dnsError = false
    if ('success' in outcome) return this.count('healthy', 'success', t.successes)
    if ('failure' in outcome) return this.count('unhealthy', outcome.failure, outcome.failure === 'tcp' ? t.tcpFailures : t.timeouts)
    if (t.healthyStatuses.has(outcome.status)) return this.count('healthy', 'success', t.successes)
    // Kong (lua-resty-healthcheck's report_http_status) ignores statuses in neither list
    if (t.unhealthyStatuses.has(outcome.status) || outcome.status === 0) return this.count('unhealthy', 'http', t.httpFailures)
    return false
  }

  /** Sets the state by hand and clears the counters; true when it changed. */
  set(healthy: boolean): boolean {
    const was = this.healthy
    this.state = healthy ? 'healthy' : 'unhealthy'
    for (const k of Object.keys(this.counters) as Counter[]) this.counters[k] = 0
    return was !== healthy
  }

  private count(report: 'healthy' | 'unhealthy', counter: Counter, limit: number): boolean {
    if (limit === 0 || this.state === report) return false
    const was = this.healthy
    const c = this.counters
    const n = ++c[counter]
    if (counter === 'success') c.http = c.tcp = c.timeout = 0
    else c.success = 0
    if (n >= limit) this.state = report
    else if (this.state === 'healthy' && c.http + c.tcp + c.timeout > 0) this.state = 'mostly_healthy'
    else if (this.state === 'unhealthy' && c.success > 0) this.state = 'mostly_unhealthy'
    return was !== this.healthy
  }
}
