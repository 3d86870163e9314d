/** Flags shared by validate/diff/apply/dump/reset; each also reads a KCTL_* variable. */
import {Args, Flags} from '@oclif/core'
import {UserError} from '../kit/errors.js'
import {specFlag} from '../kit/flags.js'

export const filesArg = {files: Args.string({description: 'Declarative files (YAML or JSON); `-` reads stdin.', required: true})}

export const adminFlags = {
  'admin-url': Flags.custom<string>({description: 'Admin API to talk to, http:// or https:// (default: the cluster in ./kctl.yaml).', env: 'KCTL_ADMIN_URL', helpValue: 'URL', parse: async (input) => checkedAdminUrl(input)})(),
  spec: specFlag,
}

export const selectTagFlag = {
  'select-tag': Flags.string({description: 'Manage only entities with this tag (repeatable); created entities get it.', multiple: true, env: 'KCTL_SELECT_TAG'}),
}

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
