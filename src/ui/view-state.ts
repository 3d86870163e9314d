/**
 * Pure: the dashboard's view state (selection, sort, filter, open panel) and how keys
 * change it. The Dashboard feeds key presses in; nothing here touches the terminal.
 *
 *   ↑/↓ select · Enter details · l log · / filter (Enter keeps, Esc clears) · s sort · ? help · q quit
 */
import {nextSort, type SortKey} from './rows.js'

export type Panel = 'none' | 'details' | 'log' | 'help'

export interface ViewState {
  /** Row key (`node:…`, `dp:…`) so the selection survives re-sorting and refreshes. */
  selected: string | null
  sort: SortKey
  filter: string
  editingFilter: boolean
  panel: Panel
  quit: boolean
}

export const initialView: ViewState = {selected: null, sort: 'name', filter: '', editingFilter: false, panel: 'none', quit: false}

export interface KeyPress {
  input: string
  upArrow?: boolean
  downArrow?: boolean
  return?: boolean
  escape?: boolean
  backspace?: boolean
  delete?: boolean
  ctrl?: boolean
}

/** The selected key, or the first visible one when the selection is gone (filtered out, left). */
export function effectiveSelection(view: ViewState, keys: string[]): string | null {
  return view.selected !== null && keys.includes(view.selected) ? view.selected : (keys[0] ?? null)
}

function move(view: ViewState, keys: string[], by: number): ViewState {
  if (keys.length === 0) return view
  const cur = keys.indexOf(effectiveSelection(view, keys) ?? '')
  const next = Math.min(keys.length - 1, Math.max(0, cur + by))
  return {...view, selected: keys[next]}
}

function editFilter(view: ViewState, key: KeyPress): ViewState {
  if (key.return) return {...view, editingFilter: false}
  if (key.escape) return {...view, editingFilter: false, filter: ''}
  if (key.backspace || key.delete) return {...view, filter: view.filter.slice(0, -1)}
  if (key.input && !key.ctrl) return {...view, filter: view.filter + key.input}
  return view
}

/** Next view state for a key press; `keys` are the visible row keys in display order. */
export function reduceKey(view: ViewState, key: KeyPress, keys: string[]): ViewState {
  if (key.ctrl && key.input === 'c') return {...view, quit: true}
  if (view.editingFilter) return editFilter(view, key)
  if (key.upArrow) return move(view, keys, -1)
  if (key.downArrow) return move(view, keys, 1)
  if (key.return) return {...view, selected: effectiveSelection(view, keys), panel: view.panel === 'details' ? 'none' : 'details'}
  if (key.escape) return {...view, panel: 'none'}
  switch (key.input) {
    case 'q':
      return {...view, quit: true}
    case '/':
      return {...view, editingFilter: true}
    case 's':
      return {...view, sort: nextSort(view.sort)}
    case 'l':
      return {...view, selected: effectiveSelection(view, keys), panel: view.panel === 'log' ? 'none' : 'log'}
    case '?':
      return {...view, panel: view.panel === 'help' ? 'none' : 'help'}
    default:
      return view
  }
}

/**
 * Like reduceKey, for what the terminal delivered in one read. Ink passes a chunk of
 * several characters as one `input` (a paste, or keys typed faster than it reads, as over
 * ssh or tmux); outside the filter prompt each character is a key of its own, so `/dp-2`
 * arriving at once opens the filter and types into it, and a carriage return is Enter.
 */
export function reduceInput(view: ViewState, key: KeyPress, keys: string[]): ViewState {
  const chars = [...key.input]
  if (chars.length <= 1 || key.ctrl) return reduceKey(view, key, keys)
  return chars.reduce((v, c) => reduceKey(v, c === '\r' || c === '\n' ? {input: '', return: true} : {input: c}, keys), view)
}
