/**
 * What a command must end before kctl exits (SSH master connections and their forwards):
 * registered by whoever opened it, run once by the base command when the command ends,
 * whether it succeeded or failed, and when kctl is stopped by SIGINT or SIGTERM.
 *
 *   SIGINT/SIGTERM ──▶ a command listening for it (logs -f, status --watch)? it ends itself,
 *                      and the base command's `finally` runs the tasks
 *                  └─▶ otherwise: run the tasks, exit 130 / 143 (what the signal would have given)
 */
const tasks = new Set<() => Promise<void>>()
const SIGNALS = {SIGINT: 2, SIGTERM: 15} as const
let hooked = false

export function registerCleanup(task: () => Promise<void>): void {
  tasks.add(task)
  if (hooked) return
  hooked = true
  for (const [sig, n] of Object.entries(SIGNALS)) {
    const onSignal = (): void => {
      // Prepended, so called first: a command's own (once) listeners are all still there.
      if (process.listeners(sig as NodeJS.Signals).some((l) => l !== onSignal)) return
      void runCleanups().finally(() => process.exit(128 + n))
    }
    process.prependListener(sig as NodeJS.Signals, onSignal)
  }
}

/** Runs every registered task once (failures are ignored: kctl is exiting). */
export async function runCleanups(): Promise<void> {
  const all = [...tasks]
  tasks.clear()
  await Promise.all(all.map((t) => t().catch(() => undefined)))
}
