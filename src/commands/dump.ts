import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {stderrReporter} from '../kit/output.js'
import {adminFlags, selectTagFlag} from '../config/cli-flags.js'
import {dump, type DumpResult} from '../services/dump.js'

type DumpJson = Record<string, unknown> | Pick<DumpResult, 'file' | 'format' | 'entities'>

export class Dump extends BaseCommand {
  static override summary = 'Write the gateway configuration as a declarative file.'
  static override examples = ['<%= config.bin %> dump', '<%= config.bin %> dump -o current.yaml']
  static override flags = {
    ...adminFlags,
    ...selectTagFlag,
    output: Flags.string({char: 'o', description: 'File to write (default: stdout).', env: 'KCTL_DUMP_OUTPUT', helpValue: 'FILE'}),
    format: Flags.string({description: 'File format.', options: ['yaml', 'json'], default: 'yaml', env: 'KCTL_DUMP_FORMAT'}),
  }

  /** --json: the configuration itself on stdout (`kctl dump --json > kong.json`); with -o, what was written. */
  async run(): Promise<DumpJson> {
    const {flags} = await this.parse(Dump)
    const result = await dump({
      adminUrl: flags['admin-url'],
      specPath: flags.spec,
      stateRoot: this.stateRoot,
      output: flags.output,
      format: flags.format as 'yaml' | 'json',
      selectTags: flags['select-tag'],
    })
    if (!this.jsonEnabled()) {
      if (result.file) stderrReporter.info(`wrote ${result.file}`)
      else process.stdout.write(result.text)
    }
    return result.file ? {file: result.file, format: result.format, entities: result.entities} : result.config
  }
}
