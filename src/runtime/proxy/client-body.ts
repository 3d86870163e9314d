/**
 * A request whose body the client made unreadable (pdk/request-body.ts): not the
 * gateway's error, so logged at `info` as nginx logs it, and answered as Kong answers.
 *
 *   the parser refuses the body (clientError, HPE_*) ─► bodyRefused: info line; 400 `Bad request`
 *        │                                              (Connection: close) when the head has not
 *        │                                              gone, else the connection goes; a read of
 *        │                                              the body, waiting or later, rejects
 *        └─► that read's rejection ─► clientBodyFailed: nothing more (answered already)
 *   the client goes away ─► the read rejects ─► clientBodyFailed: info line; nobody to answer
 */
import {refuseBody, type ClientBodyError} from '../pdk/request-body.js'
import type {ProxyContext} from './context.js'
import {MESSAGES, sendError} from './responses.js'

/** A body read (the proxy's buffering or a plugin's) rejected because of the client. */
export function clientBodyFailed(ctx: ProxyContext, err: ClientBodyError): void {
  if (err.failure === 'malformed') return
  ctx.log.info(err.message, {code: err.code})
  ctx.res.destroy()
}

/**
 * The parser refused the body of the request `ctx` is reading (`err`, an HPE_* error):
 * the request answers 400 and its connection closes, as nginx's "client sent invalid
 * chunked body". `cancel` stops an upstream try the body was streaming to.
 */
export function bodyRefused(ctx: ProxyContext, err: Error & {code?: string}, cancel: {abort(): void}): void {
  const refused = refuseBody(ctx.req, err)
  ctx.log.info(refused.message, {code: refused.code})
  cancel.abort()
  // the head went: nothing can be answered, the connection goes (its parser failed)
  if (ctx.res.headersSent) return void ctx.req.socket.destroy()
  ctx.res.shouldKeepAlive = false
  sendError(ctx, 400, MESSAGES[400])
}
