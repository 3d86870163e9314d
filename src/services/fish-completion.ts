/**
 * A fish completion script for the CLI's commands and flags (@oclif/plugin-autocomplete
 * writes bash, zsh and PowerShell ones only). Pure: commands in, script out.
 */

export interface CompletionFlag {
  name: string
  char?: string
  /** `option` flags take a value; `boolean` ones do not. */
  type: 'boolean' | 'option'
  description?: string
  options?: readonly string[]
  hidden?: boolean
}

export interface CompletionCommand {
  /** oclif's id, topics joined by `:` (`autocomplete:fish`). */
  id: string
  summary?: string
  description?: string
  hidden?: boolean
  flags: Record<string, CompletionFlag>
}

const quote = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
const firstLine = (s = '') => s.split('\n')[0].replace(/\.$/, '')

/** The script, for `~/.config/fish/completions/<bin>.fish`. */
export function fishCompletion(bin: string, commands: readonly CompletionCommand[]): string {
  const visible = commands.filter((c) => !c.hidden && !c.id.includes(':')).sort((a, b) => a.id.localeCompare(b.id))
  const lines = [`# fish completion for ${bin}: ${bin} autocomplete fish > ~/.config/fish/completions/${bin}.fish`, `complete -c ${bin} -f`]
  for (const c of visible) {
    const about = firstLine(c.summary ?? c.description).replaceAll('<%= config.bin %>', bin)
    lines.push(`complete -c ${bin} -n __fish_use_subcommand -a ${c.id}${about ? ` -d ${quote(about)}` : ''}`)
  }
  for (const c of visible) {
    for (const f of Object.values(c.flags)) {
      if (f.hidden) continue
      const parts = [`complete -c ${bin} -n ${quote(`__fish_seen_subcommand_from ${c.id}`)} -l ${f.name}`]
      if (f.char) parts.push(`-s ${f.char}`)
      if (f.type === 'option') parts.push(f.options?.length ? `-x -a ${quote(f.options.join(' '))}` : '-r')
      if (f.description) parts.push(`-d ${quote(firstLine(f.description))}`)
      lines.push(parts.join(' '))
    }
  }
  return `${lines.join('\n')}\n`
}
