/**
 * `kctl status --watch`: the root component. It owns exit (q / Ctrl-C → `exit()`), the
 * view state (selection, sort, filter, panel) and nothing else: data comes from the store,
 * rows from pure functions, I/O from the watch service (it reads `logFocus`).
 *
 *   <Static> events ─ Header (totals, banner) ─ NODES ─ DATA PLANES ─ panel ─ legend ─ footer
 */
import {Box, Static, Text, useApp, useInput, useStdin, useStdout} from 'ink'
import {useEffect, useMemo, useRef, useState} from 'react'
import type {StatusResult} from '../services/status/types.js'
import {clock as timeOfDay} from './format.js'
import {Header} from './components/Header.js'
import {Details, Footer, Legend, LogLines} from './components/Panels.js'
import {StatusTable, toneColor} from './components/StatusTable.js'
import {DP_COLUMNS, NODE_COLUMNS, dataPlaneRows, detailsOf, filterRows, nodeRows, rowBudget, sortRows, type Row} from './rows.js'
import type {StatusStore} from './status-store.js'
import {useNow} from './use-now.js'
import {useStatusStore} from './use-status-store.js'
import {effectiveSelection, initialView, reduceInput, type ViewState} from './view-state.js'

export interface DashboardProps {
  store: StatusStore
  color: boolean
  /** Clock refresh for relative times (ms). */
  tickMs?: number
  /** Epoch seconds; tests pass a fixed one. Must be stable across renders. */
  clock?: () => number
}

function visibleRows(status: StatusResult | null, view: ViewState, now: number): {nodes: Row[]; dps: Row[]} {
  if (!status) return {nodes: [], dps: []}
  const pick = (rows: Row[]) => sortRows(filterRows(rows, view.filter), view.sort)
  return {nodes: pick(nodeRows(status, now)), dps: pick(dataPlaneRows(status, now))}
}

/** The node whose log the panel needs: the selected node, or the DP row's local node. */
function logNode(status: StatusResult | null, key: string | null): string | null {
  if (!status || !key) return null
  if (key.startsWith('node:')) return key.slice(5)
  return status.data_planes.find((d) => `dp:${d.id}` === key)?.node ?? null
}

export function Dashboard({store, color, tickMs = 1000, clock}: DashboardProps) {
  const {exit} = useApp()
  const {isRawModeSupported} = useStdin()
  const {stdout} = useStdout()
  const {status, events, log} = useStatusStore(store)
  const now = useNow(tickMs, clock)
  const [view, setView] = useState<ViewState>(initialView)
  const {nodes, dps} = useMemo(() => visibleRows(status, view, now), [status, view, now])
  const keys = [...nodes, ...dps].map((r) => r.key)
  const keysRef = useRef(keys)
  keysRef.current = keys
  const selected = effectiveSelection(view, keys)
  const focus = view.panel === 'details' || view.panel === 'log' ? logNode(status, selected) : null

  useInput((input, key) => setView((v) => reduceInput(v, {input, ...key}, keysRef.current)), {isActive: isRawModeSupported === true})
  useEffect(() => store.setLogFocus(focus), [store, focus])
  useEffect(() => {
    if (view.quit) exit()
  }, [view.quit, exit])

  if (!status) return <Text>Reading the cluster…</Text>
  const logLines = log && log.node === focus ? log.lines : null
  // Output taller than the terminal makes Ink clear and redraw the screen on every frame.
  const panelLines = view.panel === 'details' ? 34 : view.panel === 'log' ? 14 : 0
  const budget = rowBudget((stdout.rows || 40) - 17 - panelLines - (status.control_plane?.reachable === false ? 3 : 0) - status.warnings.length, nodes.length, dps.length)
  return (
    <>
      <Static items={events}>
        {(e) => (
          <Text key={e.id} color={toneColor(e.tone, color)}>
            {timeOfDay(e.at)} {e.text}
          </Text>
        )}
      </Static>
      <Box flexDirection="column">
        <Header status={status} now={now} color={color} />
        <StatusTable title="NODES" columns={NODE_COLUMNS} rows={nodes} maxRows={budget.nodes} selected={selected} color={color} empty={view.filter ? 'no node matches the filter' : 'no nodes'} />
        {status.mode === 'hybrid' ? (
          <StatusTable title="DATA PLANES" columns={DP_COLUMNS} rows={dps} maxRows={budget.dps} selected={selected} color={color} empty={view.filter ? 'no data plane matches the filter' : 'the control plane knows no data plane yet'} />
        ) : null}
        {view.panel === 'details' && selected ? (
          <Details title={`details: ${selected}`} fields={detailsOf(status, selected)} log={logLines} logNote={focus ? 'reading the log…' : 'no local log for a data plane outside kctl.yaml'} />
        ) : null}
        {view.panel === 'log' ? focus ? <LogLines title={`log: ${focus} (tail)`} lines={logLines ?? []} /> : <Text dimColor>no local log for this row</Text> : null}
        <Box marginTop={1}>
          <Legend color={color} />
        </Box>
        <Footer panel={view.panel} sort={view.sort} filter={view.filter} editingFilter={view.editingFilter} lastEvent={events.length ? events[events.length - 1].text : null} keys={isRawModeSupported === true} />
      </Box>
    </>
  )
}
