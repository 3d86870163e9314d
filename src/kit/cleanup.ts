/**
 * What a command must end before kctl exits (SSH master connections and their forwards):
 * registered by whoever opened it, run once by the base command when the command ends,
 * whether it succeeded or failed, and when kctl is stopped by SIGINT or SIGTERM.
 *
 *   SIGINT/SIGTERM ──▶ claimed by the command (logs -f, status --watch: claimSignal)? it ends
 *                      itself, and the base command's `finally` runs the tasks
 *                  └─▶ otherwise: run the tasks, exit 130 / 143 (what the signal would have given)
 */
const tasks = new Set<() => Promise<void>>()
const SIGNALS = {SIGINT: 2, SIGTERM: 15} as const
const claimed = new Set<string>()
let hooked = false

/** The command ends itself on `sig` (its own listener): kctl leaves the exit to it. */
export function claimSignal(sig: keyof typeof SIGNALS): void {
  claimed.add(sig)
}

export function registerCleanup(task: () => Promise<void>): void {
  tasks.add(task)
  if (hooked) return
  hooked = true
  for (const [sig, n] of Object.entries(SIGNALS)) {
    // Any listener takes away Node's default exit on the signal (execa's child clean-up
    // listens too): unless the command claimed it, this one exits after the tasks.
    process.on(sig as NodeJS.Signals, () => {
      if (claimed.has(sig)) return
      signalled ??= 128 + n
      void runCleanups()
    })
  }
}

/** The exit status of the signal that stops kctl, once one did. */
let signalled: number | undefined
/** The tasks under way: a command ending meanwhile waits for them too. */
let running: Promise<void> = Promise.resolve()

/**
 * Runs every registered task once (failures are ignored: kctl is exiting), and waits for
 * those already under way. After a signal, kctl then exits with its status (130 / 143),
 * whatever the command was doing meanwhile (a command failing because its children were
 * stopped too would otherwise exit 1 before its connections are ended).
 */
export async function runCleanups(): Promise<void> {
  const all = [...tasks]
  tasks.clear()
  const these = Promise.all(all.map((t) => t().catch(() => undefined)))
  running = Promise.all([running, these]).then(() => undefined)
  await running
  if (signalled !== undefined) process.exit(signalled)
}
