/**
 * The update notice of @oclif/plugin-warn-if-update-available ("kctl 0.2.0 is available"),
 * for people at a terminal only: never under CI, in pipes or scripts, nor with
 * KCTL_SKIP_NEW_VERSION_CHECK=1. It never waits on the network: the plugin asks the registry
 * from a detached process at most once a week (`timeoutInDays`) and the notice shows what an
 * earlier run cached, so offline it is silent.
 *
 * kctl calls the plugin's hook from here instead of listing the plugin in `oclif.plugins`:
 * oclif would load and run it on every command, reading the npm configuration even when it
 * then skips the check, which costs `kctl --version` a third of its start-up CPU.
 */
import type {Hook} from '@oclif/core'

const hook: Hook.Init = async function (opts) {
  if (process.env.CI || !process.stderr.isTTY || this.config.scopedEnvVarTrue('SKIP_NEW_VERSION_CHECK')) return
  // The package exports no path to its hook; it sits next to its entry point.
  const entry = import.meta.resolve('@oclif/plugin-warn-if-update-available')
  const {default: checkUpdate} = (await import(new URL('hooks/init/check-update.js', entry).href)) as {default: Hook.Init}
  await checkUpdate.call(this, opts)
}

export default hook
