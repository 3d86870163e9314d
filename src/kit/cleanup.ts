/**
 * What a command must end before kctl exits (SSH master connections and their forwards):
 * registered by whoever opened it, run once by the base command when the command ends,
 * whether it succeeded or failed.
 */
const tasks = new Set<() => Promise<void>>()

export function registerCleanup(task: () => Promise<void>): void {
  tasks.add(task)
}

/** Runs every registered task once (failures are ignored: kctl is exiting). */
export async function runCleanups(): Promise<void> {
  const all = [...tasks]
  tasks.clear()
  await Promise.all(all.map((t) => t().catch(() => undefined)))
}
