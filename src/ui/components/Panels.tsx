/** The panels under the tables: details of the selected row, its log, help, legend, footer. */
import {Box, Text} from 'ink'
import {LEGEND} from '../format.js'
import type {Panel} from '../view-state.js'
import {toneColor} from './StatusTable.js'

export const HELP = '↑/↓ select · Enter details · l log · / filter · s sort · ? help · q quit'

export interface DetailsProps {
  title: string
  fields: [string, string][]
  log: string[] | null
  /** Log lines are only known for local nodes. */
  logNote: string | null
}

export function Details({title, fields, log, logNote}: DetailsProps) {
  const width = Math.max(0, ...fields.map(([k]) => k.length))
  return (
    <Box flexDirection="column" marginTop={1} borderStyle="single" paddingX={1}>
      <Text bold>{title}</Text>
      {fields.map(([k, v]) => (
        <Text key={k} wrap="truncate">
          <Text dimColor>{k.padEnd(width + 2)}</Text>
          {v}
        </Text>
      ))}
      {log ? <LogLines title="recent log" lines={log} /> : logNote ? <Text dimColor>{logNote}</Text> : null}
    </Box>
  )
}

export function LogLines({title, lines}: {title: string; lines: string[]}) {
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>{title}</Text>
      {lines.length === 0 ? <Text dimColor>(empty)</Text> : null}
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {l}
        </Text>
      ))}
    </Box>
  )
}

export function Legend({color}: {color: boolean}) {
  return (
    <Text wrap="truncate">
      {LEGEND.map((l, i) => (
        <Text key={l.tone}>
          {i ? '  ' : ''}
          <Text color={toneColor(l.tone, color)}>■</Text> {l.text}
        </Text>
      ))}
    </Text>
  )
}

export interface FooterProps {
  panel: Panel
  sort: string
  filter: string
  editingFilter: boolean
  lastEvent: string | null
  keys: boolean
}

export function Footer({panel, sort, filter, editingFilter, lastEvent, keys}: FooterProps) {
  return (
    <Box flexDirection="column">
      {lastEvent ? <Text wrap="truncate">last event: {lastEvent}</Text> : null}
      {editingFilter ? (
        <Text>
          filter: {filter}
          <Text inverse> </Text> (Enter keep · Esc clear)
        </Text>
      ) : (
        <Text dimColor wrap="truncate">
          sort: {sort}
          {filter ? ` · filter: ${filter}` : ''} · {keys ? '? help · q quit' : 'keys unavailable (no raw-mode terminal); Ctrl-C quits'}
        </Text>
      )}
      {keys && panel === 'help' ? <Text>{HELP}</Text> : null}
    </Box>
  )
}
