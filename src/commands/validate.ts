import {BaseCommand} from '../kit/base-command.js'
import {print, stderrReporter} from '../kit/output.js'
import {filesArg, selectTagFlag} from '../config/cli-flags.js'
import {validate, type ValidateResult} from '../services/validate.js'

export class Validate extends BaseCommand {
  static override summary = 'Check declarative files offline against the gateway schemas.'
  static override examples = ['<%= config.bin %> validate kong.yaml', 'cat kong.yaml | <%= config.bin %> validate -']
  static override strict = false
  static override args = filesArg
  static override flags = {...selectTagFlag}

  async run(): Promise<ValidateResult> {
    const {argv, flags} = await this.parse(Validate)
    const result = await validate({files: argv as string[], selectTags: flags['select-tag']})
    if (!this.jsonEnabled()) {
      for (const w of result.warnings) stderrReporter.warn(w)
      const counts = Object.entries(result.entities).map(([k, n]) => `${n} ${k}`).join(', ')
      print(`configuration is valid${counts ? ` (${counts})` : ''}`)
    }
    return result
  }
}
