/**
 * When to restart a crashed serving process, and when to give up (pure; unit-tested).
 *
 *   crash long after start, none recently ─► restart at once
 *   quick repeated crashes ─► 100 ms, 200 ms, 400 ms … capped at 5 s
 *   5 crashes within 30 s, or 3 crashes in a row before the node started ─► give up
 */

export interface BackoffPolicy {
  /** Crashes within `windowMs` that make the supervisor give up. */
  maxCrashes: number
  windowMs: number
  /** Crashes in a row before the serving process reported started. */
  maxStartCrashes: number
  firstDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_POLICY: BackoffPolicy = {maxCrashes: 5, windowMs: 30_000, maxStartCrashes: 3, firstDelayMs: 100, maxDelayMs: 5000}

export interface CrashHistory {
  /** When each crash happened (ms), oldest first; this one included. */
  crashes: number[]
  /** Crashes in a row before a serving process started; this one included. */
  startCrashes: number
}

export type Decision = {restart: true; delayMs: number} | {restart: false; reason: string}

export function decide(h: CrashHistory, now: number, p: BackoffPolicy = DEFAULT_POLICY): Decision {
  const recent = h.crashes.filter((t) => now - t < p.windowMs).length
  if (h.startCrashes >= p.maxStartCrashes) return {restart: false, reason: `crashed ${h.startCrashes} times in a row while starting`}
  if (recent >= p.maxCrashes) return {restart: false, reason: `crashed ${recent} times within ${Math.round(p.windowMs / 1000)} s`}
  // the crashes before this one decide the delay: none recent → at once
  const before = Math.max(recent - 1, h.startCrashes > 0 ? h.startCrashes : 0)
  if (before === 0) return {restart: true, delayMs: 0}
  return {restart: true, delayMs: Math.min(p.firstDelayMs * 2 ** (before - 1), p.maxDelayMs)}
}
