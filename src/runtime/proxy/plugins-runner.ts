/**
 * The plugin runner: runs the plugin phases of a request over the route's plan
 * (plugins-plan.ts), each plugin seeing the request through the PDK's PluginContext
 * (pdk/context.ts) and its own state slot (`k.state`). `access` walks the route's plan
 * (descending priority), resolving each plugin to its most specific instance for the
 * consumer known so far, so a plugin after an authentication plugin sees consumer-scoped
 * config. `response` and `log` run the plugins that ran in `access`, in the same order.
 *
 * A plugin that throws answers 500 with Kong's generic body and a log line naming it;
 * the process and other requests are unaffected.
 */
import {PluginContext} from '../pdk/context.js'
import type {PluginStates} from '../pdk/state.js'
import type {ProxyContext} from './context.js'
import {MESSAGES, runResponseHandlers, sendError, sendOwn} from './responses.js'
import {clientBodyFailed} from './client-body.js'
import {mergeHeaders} from './headers.js'
import {ClientBodyError} from '../pdk/request-body.js'

/**
 * Returns false when a plugin answered the client (exit, error or failure). Synchronous
 * (no promise, no microtask) as long as every access handler is: a promise only from the
 * first handler that returns one.
 */
export function pluginAccessPhase(ctx: ProxyContext, states: PluginStates): boolean | Promise<boolean> {
  const plan = ctx.snapshot.pluginPlan.forRoute(ctx.route!.id)
  if (plan.length === 0) return true
  ctx.pluginContext = new PluginContext(ctx, states)
  ctx.plugins = []
  return accessFrom(ctx, plan, 0)
}

/**
 * A request refused before any route could be looked for (the HTTP parser's refusals,
 * nginx's own errors in Kong): its plugins are the global ones, as Kong runs them there.
 */
export function useGlobalPlugins(ctx: ProxyContext, states: PluginStates): void {
  const global = ctx.snapshot.pluginPlan.global
  if (global.length === 0) return
  ctx.pluginContext = new PluginContext(ctx, states)
  ctx.plugins = global.filter((p) => p.base!.protocols.includes(ctx.scheme)).map((p) => ({p, inst: p.base!}))
}

type Plan = ReturnType<ProxyContext['snapshot']['pluginPlan']['forRoute']>

/** Runs the access handlers of `plan` from `start` on. */
function accessFrom(ctx: ProxyContext, plan: Plan, start: number): boolean | Promise<boolean> {
  const k = ctx.pluginContext!
  const ran = ctx.plugins!
  for (let i = start; i < plan.length; i++) {
    const p = plan[i]
    const inst = (ctx.consumer !== null && p.byConsumer?.get(ctx.consumer.id)) || p.base
    if (!inst || !inst.protocols.includes(ctx.scheme)) continue
    ran.push({p, inst})
    const access = p.def.handler.access
    if (!access) continue
    k.instance = inst
    k.plugin = p.def.handler
    let pending: unknown
    try {
      pending = access(k, inst.config, p.data)
    } catch (err) {
      pluginFailed(ctx, p.def.name, err)
      return false
    }
    if (pending) return settle(ctx, plan, i, pending)
    if (k.exited) {
      collectRest(ctx, plan, i + 1)
      sendExit(ctx, k)
      return false
    }
  }
  return true
}

/** Waits for the handler at `i`, then runs the rest. */
async function settle(ctx: ProxyContext, plan: Plan, i: number, pending: unknown): Promise<boolean> {
  try {
    await pending
  } catch (err) {
    pluginFailed(ctx, plan[i].def.name, err)
    return false
  }
  const k = ctx.pluginContext!
  if (k.exited) {
    collectRest(ctx, plan, i + 1)
    sendExit(ctx, k)
    return false
  }
  return accessFrom(ctx, plan, i + 1)
}

/**
 * Lets plugins change the response status and headers before they are sent.
 * Returns false when a plugin failed (a 500 was sent instead).
 */
export function pluginResponsePhase(ctx: ProxyContext, status: number, headers: Record<string, string | string[]>): {status: number; ok: boolean} {
  const k = ctx.pluginContext
  if (ctx.responseHeaders) Object.assign(headers, ctx.responseHeaders)
  if (!k || !ctx.plugins) return {status, ok: true}
  const after = runResponseHandlers(ctx.plugins, k, status, headers)
  if (after.failed) {
    pluginFailed(ctx, after.failed.name, after.failed.err)
    return {status, ok: false}
  }
  return {status: after.status, ok: true}
}

/** After the response: loggers and metrics. Failures are logged only. */
export function pluginLogPhase(ctx: ProxyContext): void {
  const k = ctx.pluginContext
  if (!k || !ctx.plugins) return
  for (const {p, inst} of ctx.plugins) {
    const log = p.def.handler.log
    if (!log) continue
    k.instance = inst
    k.plugin = p.def.handler
    try {
      log(k, inst.config, p.data)
    } catch (err) {
      ctx.log.error(`plugin ${p.def.name} failed in log: ${(err as Error)?.stack ?? String(err)}`, {plugin: p.def.name})
    }
  }
}

function pluginFailed(ctx: ProxyContext, name: string, err: unknown): void {
  // the body it read failed because of the client: not the plugin's error
  if (err instanceof ClientBodyError) return clientBodyFailed(ctx, err)
  ctx.log.error(`plugin ${name} failed in ${ctx.phase}: ${(err as Error)?.stack ?? String(err)}`, {plugin: name})
  sendError(ctx, 500, MESSAGES[500])
}

/**
 * After a plugin answered, the plugins after it are still collected, without running their
 * access handler: as in Kong, the response and log handlers of every plugin of the request
 * see the answer (cors's headers on a 401, a logger's line for it).
 */
function collectRest(ctx: ProxyContext, plan: Plan, from: number): void {
  const ran = ctx.plugins!
  for (let i = from; i < plan.length; i++) {
    const p = plan[i]
    const inst = (ctx.consumer !== null && p.byConsumer?.get(ctx.consumer.id)) || p.base
    if (inst && inst.protocols.includes(ctx.scheme)) ran.push({p, inst})
  }
}

function sendExit(ctx: ProxyContext, k: PluginContext): void {
  const exit = k.exited!
  const headers = mergeHeaders(ctx.responseHeaders, exit.headers)
  if (exit.message !== undefined) return sendError(ctx, exit.status, exit.message, headers)
  if (ctx.res.headersSent) return void ctx.res.destroy()
  sendOwn(ctx, exit.status, headers, exit.body ?? '')
}
