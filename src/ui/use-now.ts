/** A clock for relative times ("3s ago"): epoch seconds, refreshed every `ms`. */
import {useEffect, useState} from 'react'

const wallClock = (): number => Date.now() / 1000

/** `clock` must be stable across renders (module-level or memoised). */
export function useNow(ms: number, clock: () => number = wallClock): number {
  const [now, setNow] = useState(clock)
  useEffect(() => {
    const t = setInterval(() => setNow(clock()), ms)
    return () => clearInterval(t)
  }, [ms, clock])
  return now
}
