/** Flags shared by several commands; each can also come from a KCTL_* environment variable. */
import {Args, Flags} from '@oclif/core'
import {stderrReporter, silentReporter, type Reporter} from './output.js'
import {spinnerReporter, spinnerWanted} from './progress.js'

export const specFlag = Flags.string({description: 'Cluster spec file.', default: 'kctl.yaml', env: 'KCTL_SPEC', helpValue: 'FILE'})

export const yesFlag = Flags.boolean({char: 'y', description: 'Answer yes to confirmations and accept defaults without asking.', env: 'KCTL_YES'})

const nodeDescription = 'A node name from the spec, or `postgres` for the embedded database (see `kctl nodes`).'
export const nodeArg = Args.string({name: 'NODE', description: nodeDescription})
export const requiredNodeArg = Args.string({name: 'NODE', required: true, description: nodeDescription})

/**
 * Progress goes to stderr (a spinner per step on a terminal, plain lines elsewhere). In JSON
 * mode only warnings do: stdout carries the result alone either way.
 */
export const reporterFor = (json: boolean): Reporter => (json ? jsonReporter : spinnerWanted() ? spinnerReporter : stderrReporter)

const jsonReporter: Reporter = {...silentReporter, warn: (message) => stderrReporter.warn(message)}

/**
 * For every command that reaches hosts over SSH: a host never seen before is trusted and its
 * key recorded (`StrictHostKeyChecking=accept-new`); a changed key is refused all the same.
 */
export const hostFlags = {
  'accept-new-host-keys': Flags.boolean({description: 'Trust and record the SSH host key of a host never connected to before (a changed key is still refused).', env: 'KCTL_ACCEPT_NEW_HOST_KEYS', helpGroup: 'SSH'}),
}
