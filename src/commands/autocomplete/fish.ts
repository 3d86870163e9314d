import {BaseCommand, verboseFlag} from '../../kit/base-command.js'
import {fishCompletion, type CompletionCommand} from '../../services/fish-completion.js'

export class AutocompleteFish extends BaseCommand {
  static override summary = 'Print the fish completion script (bash and zsh: `kctl autocomplete bash|zsh`).'
  static override description = 'Write it where fish looks for completions; a new shell completes commands, flags and flag values.'
  static override enableJsonFlag = false
  static override baseFlags = {verbose: verboseFlag}
  static override examples = [{description: 'Install it for the current user', command: '<%= config.bin %> autocomplete fish > ~/.config/fish/completions/<%= config.bin %>.fish'}]

  async run(): Promise<void> {
    await this.parse(AutocompleteFish)
    process.stdout.write(fishCompletion(this.config.bin, this.config.commands as unknown as CompletionCommand[]))
  }
}
