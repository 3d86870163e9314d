/** Flags shared by validate/diff/apply/dump/reset; each also reads a KCTL_* variable. */
import {Args, Flags} from '@oclif/core'
import {specFlag} from '../kit/flags.js'

export const filesArg = {files: Args.string({description: 'Declarative files (YAML or JSON); `-` reads stdin.', required: true})}

export const adminFlags = {
  'admin-url': Flags.string({description: 'Admin API to talk to (default: the cluster in ./kctl.yaml).', env: 'KCTL_ADMIN_URL', helpValue: 'URL'}),
  spec: specFlag,
}

export const selectTagFlag = {
  'select-tag': Flags.string({description: 'Manage only entities with this tag (repeatable); created entities get it.', multiple: true, env: 'KCTL_SELECT_TAG'}),
}

export const allowEmptyFlag = {
  'allow-empty': Flags.boolean({description: 'Accept files with no entities: the gateway (or what --select-tag manages) is emptied. `kctl reset` does that too.', env: 'KCTL_ALLOW_EMPTY'}),
}
