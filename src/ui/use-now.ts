/**
 * A clock for relative times ("3s ago"): epoch seconds read at every render, and one more
 * render `ms` after the last one. A render caused by new data re-arms the timer, so when
 * data arrives every interval anyway the clock adds no frames of its own.
 */
import {useEffect, useReducer} from 'react'

const wallClock = (): number => Date.now() / 1000

export function useNow(ms: number, clock: () => number = wallClock): number {
  const [, rerender] = useReducer((n: number) => n + 1, 0)
  useEffect(() => {
    const t = setTimeout(rerender, ms)
    return () => clearTimeout(t)
  })
  return clock()
}
