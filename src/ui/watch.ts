/**
 * Runs `kctl status --watch`: the watch service feeds the store; on a terminal the Ink
 * Dashboard shows it, otherwise (no TTY, or CI set) one plain block is printed per change.
 * Resolves when the user quits (q, Ctrl-C, SIGTERM) after every loop has stopped.
 */
import {claimSignal} from '../kit/cleanup.js'
import {clearEmptyCiVars} from '../kit/ci.js'
import type {ClusterRef} from '../services/cluster.js'
import {watchStatus} from '../services/status/index.js'
import {plainChangeKey, plainStatus} from './plain.js'
import {createStatusStore, type StatusStore} from './status-store.js'

export interface WatchUiOptions extends ClusterRef {
  intervalMs: number
  /** Ink dashboard (true) or plain blocks (false). */
  interactive: boolean
  color: boolean
}

export async function runWatch(options: WatchUiOptions): Promise<void> {
  const store = createStatusStore()
  // Loading Ink, React and the Dashboard takes ≈0.3 s; the first poll (I/O) runs meanwhile
  // instead of after it, so the first frame comes with data sooner. Plain output never loads them.
  if (options.interactive) clearEmptyCiVars() // else Ink, seeing CI='', holds every frame until exit
  const ink = options.interactive ? import('./watch-ink.js') : null
  ink?.catch(() => {}) // awaited below; a rejection before then must not count as unhandled
  const watch = await watchStatus({
    ...options,
    onStatus: (s) => store.setStatus(s),
    logFocus: () => store.get().logFocus,
    onLog: (node, lines) => store.setLog(node, lines),
  })
  try {
    await (ink ? (await ink).runInk(store, options.color) : runPlain(store))
  } finally {
    await watch.stop()
  }
}

/** One block per change of the status; events between blocks as plain lines. */
function runPlain(store: StatusStore): Promise<void> {
  return new Promise((resolve) => {
    let last = store.get().status ? plainChangeKey(store.get().status!) : null
    let printedEvents = store.get().events.length ? store.get().events[store.get().events.length - 1].id : 0
    const print = () => {
      const {status, events} = store.get()
      if (!status) return
      for (const e of events) if (e.id > printedEvents) process.stdout.write(`event: ${e.text}\n`)
      printedEvents = events.length ? events[events.length - 1].id : printedEvents
      process.stdout.write(`${plainStatus(status, Date.now() / 1000)}\n---\n`)
    }
    if (last) print()
    const unsubscribe = store.subscribe(() => {
      const {status} = store.get()
      const key = status ? plainChangeKey(status) : null
      if (key === last) return
      last = key
      print()
    })
    const done = () => {
      unsubscribe()
      process.off('SIGINT', done)
      process.off('SIGTERM', done)
      resolve()
    }
    claimSignal('SIGINT')
    claimSignal('SIGTERM')
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
}
