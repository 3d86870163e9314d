/** A titled table of rows; cells coloured by tone, the selected row inverted. One line per row. */
import {Box, Text} from 'ink'
import type {Tone} from '../format.js'
import {windowRows, type Row} from '../rows.js'

const COLORS: Record<Tone, string | undefined> = {good: 'green', warn: 'yellow', bad: 'red', muted: 'gray', normal: undefined}

export const toneColor = (tone: Tone | undefined, color: boolean): string | undefined => (color && tone ? COLORS[tone] : undefined)

export interface StatusTableProps {
  title: string
  columns: string[]
  rows: Row[]
  selected: string | null
  color: boolean
  /** Shown instead of the rows when there are none. */
  empty: string
  /** Rows that fit on screen; the rest scroll with the selection. */
  maxRows?: number
}

export function columnWidths(columns: string[], rows: Row[]): number[] {
  return columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r.cells[i]?.text.length ?? 0)))
}

export function StatusTable({title, columns, rows: all, selected, color, empty, maxRows = Infinity}: StatusTableProps) {
  const widths = columnWidths(columns, all)
  const {rows, above, below} = windowRows(all, selected, maxRows)
  const pad = (text: string, i: number) => (i === widths.length - 1 ? text : text.padEnd(widths[i] + 2))
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>
        {title}
        {above || below ? <Text dimColor> ({above} above, {below} below; ↑/↓ scroll)</Text> : null}
      </Text>
      <Text dimColor wrap="truncate">
        {'  ' + columns.map(pad).join('')}
      </Text>
      {rows.length === 0 ? <Text dimColor>  {empty}</Text> : null}
      {rows.map((r) => {
        const on = r.key === selected
        return (
          <Text key={r.key} wrap="truncate" inverse={on}>
            {on ? '› ' : '  '}
            {r.cells.map((c, i) => (
              <Text key={i} color={toneColor(c.tone, color)}>
                {pad(c.text, i)}
              </Text>
            ))}
          </Text>
        )
      })}
    </Box>
  )
}
