/**
 * The interactive half of `kctl status --watch`: the Ink Dashboard over the store until the
 * user quits. Its own module so Ink and React load only on a terminal, and in parallel
 * with the first poll (see watch.ts).
 */
import {render} from 'ink'
import {Dashboard} from './Dashboard.js'
import type {StatusStore} from './status-store.js'

/** Resolves when the Dashboard exits (q, Ctrl-C) or SIGTERM unmounts it. */
export async function runInk(store: StatusStore, color: boolean): Promise<void> {
  const app = render(<Dashboard store={store} color={color} />, {exitOnCtrlC: false})
  const onTerm = () => app.unmount()
  process.once('SIGTERM', onTerm)
  try {
    await app.waitUntilExit()
  } finally {
    process.off('SIGTERM', onTerm)
  }
}
