import {BaseCommand} from '../kit/base-command.js'
import {print, stderrReporter} from '../kit/output.js'
import {filesArg, inputLimitFlags, inputLimits, selectTagFlag} from '../declarative/cli-flags.js'
import {validate, type ValidateResult} from '../services/validate.js'

export class Validate extends BaseCommand {
  static override summary = 'Check declarative files offline against the gateway schemas.'
  static override description = `Checks declarative files offline against the same schemas the gateway uses: Kong's kong.yaml format (_format_version 3.0; 1.1 and 2.1 migrated on the fly with a warning), nested or flat, several files merged, \`-\` reads stdin, \`\${{ env "DECK_X" }}\` substituted.
Every error is listed with its place in the file: \`kong.yaml:12: services[0].routes[1]: paths.1: should start with: /\`. Exit 1 when there is any.`

  static override examples = [
    {description: 'Check one file', command: '<%= config.bin %> validate kong.yaml'},
    {description: 'Check several files as one configuration', command: '<%= config.bin %> validate services.yaml plugins.yaml'},
    {description: 'From stdin', command: 'cat kong.yaml | <%= config.bin %> validate -'},
  ]
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
