/**
 * The dashboard's state, outside React. The watch service writes into it; components read
 * it with `useStatusStore`. It emits only on a real change: a result equal to the last one
 * apart from `checked_at` is dropped, so nothing re-renders (or reprints) for nothing.
 */
import type {StatusResult} from '../services/status/types.js'
import {diffEvents, type StatusEvent} from './events.js'

export interface StatusState {
  status: StatusResult | null
  /** Newest last; capped. */
  events: StatusEvent[]
  /** The focused node's recent log lines (details view / `l`). */
  log: {node: string; lines: string[]} | null
  /** The node the view wants log lines of (read by the watch service). */
  logFocus: string | null
}

export interface StatusStore {
  get(): StatusState
  subscribe(listener: () => void): () => void
  setStatus(status: StatusResult, now?: number): void
  setLog(node: string, lines: string[]): void
  setLogFocus(node: string | null): void
}

const MAX_EVENTS = 200

const sameStatus = (a: StatusResult | null, b: StatusResult): boolean => a !== null && JSON.stringify({...a, checked_at: 0}) === JSON.stringify({...b, checked_at: 0})

export function createStatusStore(initial: Partial<StatusState> = {}): StatusStore {
  let state: StatusState = {status: null, events: [], log: null, logFocus: null, ...initial}
  let nextId = state.events.length + 1
  const listeners = new Set<() => void>()
  const set = (next: StatusState) => {
    state = next
    for (const l of listeners) l()
  }
  return {
    get: () => state,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    setStatus(status, now = Date.now() / 1000) {
      if (sameStatus(state.status, status)) return
      const drafts = diffEvents(state.status, status)
      const events = drafts.length ? [...state.events, ...drafts.map((d) => ({...d, id: nextId++, at: Math.floor(now)}))].slice(-MAX_EVENTS) : state.events
      set({...state, status, events})
    },
    setLog(node, lines) {
      const cur = state.log
      if (cur && cur.node === node && cur.lines.length === lines.length && cur.lines.every((l, i) => l === lines[i])) return
      set({...state, log: {node, lines}})
    },
    setLogFocus(node) {
      if (state.logFocus === node) return
      set({...state, logFocus: node, log: node && state.log?.node === node ? state.log : null})
    },
  }
}
