/**
 * Ways for tests to make a serving process crash, inert unless their variable is set:
 *
 *   KCTL_TEST_CRASH_AT_START=1   an uncaught exception before the node listens
 *   KCTL_TEST_CRASH_ON_SIGUSR2=1 an uncaught exception when the process gets SIGUSR2
 */
export function installTestHooks(): void {
  if (process.env.KCTL_TEST_CRASH_AT_START === '1') {
    process.nextTick(() => {
      throw new Error('crash at start requested by KCTL_TEST_CRASH_AT_START')
    })
  }
  if (process.env.KCTL_TEST_CRASH_ON_SIGUSR2 === '1') {
    process.on('SIGUSR2', () =>
      setImmediate(() => {
        throw new Error('crash requested by SIGUSR2 (KCTL_TEST_CRASH_ON_SIGUSR2)')
      }),
    )
  }
}
