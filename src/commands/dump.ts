import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {stderrReporter} from '../kit/output.js'
import {adminFlags, selectTagFlag} from '../declarative/cli-flags.js'
import {dump, type DumpResult} from '../services/dump.js'

type DumpJson = Record<string, unknown> | Pick<DumpResult, 'file' | 'format' | 'entities'>

export class Dump extends BaseCommand {
  static override summary = 'Write the gateway configuration as a declarative file.'
  static override description = `The gateway as a declarative file, nested like decK's (routes in services, targets in upstreams, snis in certificates, credentials in consumers); applying it back is a no-op.
--json prints the configuration itself as JSON; with -o FILE it writes the file and prints {"file", "format", "entities"}.`

  static override examples = [
    {description: 'Print the configuration as YAML', command: '<%= config.bin %> dump'},
    {description: 'Write it to a file', command: '<%= config.bin %> dump -o current.yaml'},
    {description: 'As JSON, only what is tagged team-a', command: '<%= config.bin %> dump --format json --select-tag team-a'},
  ]
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
