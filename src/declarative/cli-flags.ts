/** Flags shared by validate/diff/apply/dump/reset; each also reads a KCTL_* variable. */
import {Args, Flags} from '@oclif/core'
import {UserError} from '../kit/errors.js'
import {hostFlags, specFlag} from '../kit/flags.js'
import {DEFAULT_INPUT_LIMITS, formatBytes, parseBytes, type InputLimits} from '../runtime/declarative/limits.js'

export const filesArg = {files: Args.string({description: 'Declarative files (YAML or JSON); `-` reads stdin.', required: true})}

export const adminFlags = {
  'admin-url': Flags.custom<string>({description: 'Admin API to talk to, http:// or https:// (default: the cluster in ./kctl.yaml).', env: 'KCTL_ADMIN_URL', helpValue: 'URL', parse: async (input) => checkedAdminUrl(input)})(),
  spec: specFlag,
  ...hostFlags,
}

export const selectTagFlag = {
  'select-tag': Flags.string({description: 'Manage only entities with this tag (repeatable); created entities get it.', multiple: true, env: 'KCTL_SELECT_TAG'}),
}

/** Input bounds of validate/diff/apply: past them the files are refused before parsing (size) or validating (count). */
export const inputLimitFlags = {
  'max-file-size': Flags.custom<number>({
    description: `Refuse a file (or stdin) larger than this: bytes, or with a unit (64MiB, 512k, 1G). Default ${formatBytes(DEFAULT_INPUT_LIMITS.maxFileSize).replace(' ', '')}.`,
    env: 'KCTL_MAX_FILE_SIZE',
    helpValue: 'SIZE',
    async parse(input) {
      const n = parseBytes(input)
      if (n === undefined) throw new Error(`Expected a size such as 64MiB, 512k or 1048576 but received: ${input}`)
      return n
    },
  })(),
  'max-entities': Flags.integer({
    description: `Refuse files holding more entities than this, nested ones included. Default ${DEFAULT_INPUT_LIMITS.maxEntities}.`,
    env: 'KCTL_MAX_ENTITIES',
    min: 1,
    helpValue: 'N',
  }),
}

/** The limits the flags (or their variables) ask for; defaults for what they leave out. */
export const inputLimits = (flags: {'max-file-size'?: number; 'max-entities'?: number}): InputLimits => ({
  maxFileSize: flags['max-file-size'] ?? DEFAULT_INPUT_LIMITS.maxFileSize,
  maxEntities: flags['max-entities'] ?? DEFAULT_INPUT_LIMITS.maxEntities,
})
/** An http(s) URL with a host. @throws UserError USAGE (exit 2) */
function checkedAdminUrl(input: string): string {
  let url: URL | undefined
  try {
    url = new URL(input)
  } catch {}
  if (!url || !['http:', 'https:'].includes(url.protocol) || !url.hostname) {
    throw new UserError('USAGE', `must be an http:// or https:// URL (got '${input}').`, {hint: 'For example --admin-url http://127.0.0.1:8001.'})
  }
  return input
}

export const allowEmptyFlag = {
  'allow-empty': Flags.boolean({description: 'Accept files with no entities: the gateway (or what --select-tag manages) is emptied. `kctl reset` does that too.', env: 'KCTL_ALLOW_EMPTY'}),
}
