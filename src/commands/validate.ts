import {BaseCommand} from '../kit/base-command.js'
import {print, stderrReporter} from '../kit/output.js'
import {filesArg, inputLimitFlags, inputLimits, selectTagFlag} from '../config/cli-flags.js'
import {validate, type ValidateResult} from '../services/validate.js'

export class Validate extends BaseCommand {
  static override summary = 'Check declarative files offline against the gateway schemas.'
  static override examples = ['<%= config.bin %> validate kong.yaml', 'cat kong.yaml | <%= config.bin %> validate -']
  static override strict = false
  static override args = filesArg
  static override flags = {...selectTagFlag, ...inputLimitFlags}

  async run(): Promise<ValidateResult> {
    const {argv, flags} = await this.parse(Validate)
    const result = await validate({files: argv as string[], selectTags: flags['select-tag'], limits: inputLimits(flags)})
    if (!this.jsonEnabled()) {
      for (const w of result.warnings) stderrReporter.warn(w)
      const counts = Object.entries(result.entities).map(([k, n]) => `${n} ${k}`).join(', ')
      print(`configuration is valid${counts ? ` (${counts})` : ''}`)
    }
    return result
  }
}
