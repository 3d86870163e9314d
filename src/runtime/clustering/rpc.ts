/**
 * Kong's cluster RPC (3.9, `cluster_rpc = on`): JSON-RPC 2.0 on a WebSocket, shared by
 * the control plane (rpc-outlet.ts) and the data plane (data-plane-rpc.ts).
 *
 *   DP ──wss /v2/outlet, Sec-WebSocket-Protocol: kong.meta.v1 (mTLS as /v1/outlet)──► CP
 *   CP ──101, Sec-WebSocket-Protocol: kong.meta.v1──► DP        (no kong.meta.v1 offered: closed)
 *   DP ──binary, plain JSON {"jsonrpc":"2.0","method":"kong.meta.v1.hello","params":[{
 *          rpc_capabilities, rpc_frame_encodings:["x-snappy-framed"], kong_version,
 *          kong_hostname, kong_node_id, kong_conf}],"id":1}──► CP
 *   CP ──binary, plain JSON {"jsonrpc":"2.0","result":{rpc_capabilities,
 *          rpc_frame_encoding:"x-snappy-framed"},"id":1}──► DP
 *   then, both ways, every frame binary: raw snappy (block format) of one JSON-RPC 2.0
 *   request {jsonrpc,method,params:[…],id}, result {jsonrpc,id,result} or error
 *   {jsonrpc,id,error:{code,message}}; WebSocket ping/pong as keepalive.
 *
 * A capability is a method name without its last segment (`kong.sync.v2.get_delta` →
 * `kong.sync.v2`); a peer is only called for capabilities it announced. Whatever a peer
 * sends, the session answers with a JSON-RPC error or closes that connection: never more.
 */
import {compress, uncompress} from 'snappyjs'
import type WebSocket from 'ws'
import type {Logger} from '../kit/log.js'

export const RPC_OUTLET_PATH = '/v2/outlet'
export const RPC_META_V1 = 'kong.meta.v1'
export const RPC_SNAPPY_FRAMED = 'x-snappy-framed'
/** Kong's CLUSTERING_TIMEOUT: the hello must come within it, and a call's answer (by default). */
export const RPC_TIMEOUT_MS = 5000

/** JSON-RPC 2.0 error codes, as Kong's json_rpc_v2.lua. */
export const RpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  SERVER_ERROR: -32000,
} as const

const MESSAGES: Record<number, string> = {
  [RpcCode.PARSE_ERROR]: 'Parse error',
  [RpcCode.INVALID_REQUEST]: 'Invalid Request',
  [RpcCode.METHOD_NOT_FOUND]: 'Method not found',
  [RpcCode.INVALID_PARAMS]: 'Invalid params',
  [RpcCode.INTERNAL_ERROR]: 'Internal error',
  [RpcCode.SERVER_ERROR]: 'Server error',
}

/**
 * An error a method (or the session) answers with. The message is the code's standard one,
 * followed by `detail` when there is one; a SERVER_ERROR's message is the detail alone, as
 * Kong sends a failed callback's error.
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    detail?: string,
  ) {
    super(code === RpcCode.SERVER_ERROR && detail ? detail : detail ? `${MESSAGES[code] ?? 'Error'}: ${detail}` : (MESSAGES[code] ?? 'Error'))
    this.name = 'RpcError'
  }
}

/** `kong.sync.v2.get_delta` → `kong.sync.v2`; null when the name has no dot. */
export function capabilityOf(method: string): string | null {
  const at = method.lastIndexOf('.')
  return at > 0 ? method.slice(0, at) : null
}

type Id = number | string | null

/** A method: its params array (as sent; check it) → the result, or throws (RpcError for a chosen code). */
export type RpcMethod = (params: unknown[]) => unknown

/** The methods a node serves; what it announces in the hello follows from them. */
export class RpcMethods {
  private readonly methods = new Map<string, RpcMethod>()

  /** @throws when the name has no capability part or is registered already */
  register(name: string, fn: RpcMethod): this {
    if (!capabilityOf(name)) throw new Error(`'${name}' is not a method name (capability.method)`)
    if (this.methods.has(name)) throw new Error(`duplicate registration of ${name}`)
    this.methods.set(name, fn)
    return this
  }

  get(name: string): RpcMethod | undefined {
    return this.methods.get(name)
  }

  /** The capabilities, in the order their first method was registered. */
  capabilities(): string[] {
    return [...new Set([...this.methods.keys()].map((m) => capabilityOf(m)!))]
  }
}

// ---- the hello ------------------------------------------------------------------------

export interface HelloInfo {
  rpc_capabilities: string[]
  rpc_frame_encodings: string[]
  kong_version: string
  kong_hostname: string
  kong_node_id: string
  kong_conf: Record<string, unknown>
}

export const encodeHello = (info: HelloInfo): Buffer => Buffer.from(JSON.stringify({jsonrpc: '2.0', method: `${RPC_META_V1}.hello`, params: [info], id: 1}))

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string')
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function parseJson(data: Buffer, what: string): Record<string, unknown> {
  let msg: unknown
  try {
    msg = JSON.parse(data.toString('utf8'))
  } catch {
    throw new Error(`${what} is not JSON`)
  }
  if (!isObject(msg) || msg.jsonrpc !== '2.0') throw new Error(`${what} is not JSON-RPC 2.0`)
  return msg
}

/**
 * The DP's hello, as the CP reads it.
 * @throws Error saying what is wrong with it (the CP then closes the connection)
 */
export function decodeHello(data: Buffer): HelloInfo {
  const msg = parseJson(data, 'the hello')
  if (msg.method !== `${RPC_META_V1}.hello`) throw new Error(`wrong RPC meta call: ${typeof msg.method === 'string' ? msg.method : 'none'}`)
  const info = Array.isArray(msg.params) ? msg.params[0] : undefined
  if (!isObject(info)) throw new Error('the hello has no params[1] object')
  if (!isStringList(info.rpc_frame_encodings)) throw new Error('rpc_frame_encodings must be a list of strings')
  if (!info.rpc_frame_encodings.includes(RPC_SNAPPY_FRAMED)) throw new Error(`unknown encodings: ${JSON.stringify(info.rpc_frame_encodings)}`)
  if (!isStringList(info.rpc_capabilities)) throw new Error('rpc_capabilities must be a list of strings')
  for (const k of ['kong_version', 'kong_node_id', 'kong_hostname'] as const) if (typeof info[k] !== 'string') throw new Error(`${k} must be a string`)
  if (!isObject(info.kong_conf)) throw new Error('kong_conf must be an object')
  return info as unknown as HelloInfo
}

export const encodeHelloReply = (capabilities: string[]): Buffer =>
  Buffer.from(JSON.stringify({jsonrpc: '2.0', result: {rpc_capabilities: capabilities, rpc_frame_encoding: RPC_SNAPPY_FRAMED}, id: 1}))

/**
 * The CP's answer to the hello, as the DP reads it: the CP's capabilities.
 * @throws Error saying what is wrong with it
 */
export function decodeHelloReply(data: Buffer): string[] {
  const msg = parseJson(data, 'the answer to the hello')
  if (msg.error !== undefined) throw new Error(`the hello was refused: ${JSON.stringify(msg.error)}`)
  const result = msg.result
  if (!isObject(result) || result.rpc_frame_encoding !== RPC_SNAPPY_FRAMED) throw new Error(`unknown encoding: ${isObject(result) ? String(result.rpc_frame_encoding) : 'none'}`)
  if (!isStringList(result.rpc_capabilities)) throw new Error('rpc_capabilities must be a list of strings')
  return result.rpc_capabilities
}

// ---- frames ---------------------------------------------------------------------------

/** One JSON-RPC message → its frame: snappy of the JSON. */
export const encodeRpc = (msg: unknown): Buffer => compress(Buffer.from(JSON.stringify(msg)))

/**
 * A frame → its JSON value. `maxLength` bounds the uncompressed size (checked before
 * anything is allocated: snappy states it first).
 * @throws RpcError PARSE_ERROR
 */
export function decodeRpc(frame: Buffer, maxLength: number): unknown {
  let json: Buffer
  try {
    const problem = snappyProblem(frame, maxLength)
    if (problem !== null) throw new Error(problem)
    json = uncompress(frame, maxLength)
  } catch (err) {
    throw new RpcError(RpcCode.PARSE_ERROR, `not a snappy frame (${(err as Error).message})`)
  }
  try {
    return JSON.parse(json.toString('utf8'))
  } catch (err) {
    throw new RpcError(RpcCode.PARSE_ERROR, `not JSON (${(err as Error).message})`)
  }
}

/**
 * Why `frame` is not a well-formed snappy block of at most `maxLength` bytes, or null when
 * it is. Every element is checked before the decoder sees the frame: a literal or a copy
 * within the frame and the stated length, a copy from bytes already produced, the stated
 * length met exactly. (snappyjs trusts a literal's 4-byte length, which can wrap to a
 * negative step and loop for ever.) Lengths are added, not shifted, so none wraps.
 */
export function snappyProblem(frame: Uint8Array, maxLength: number): string | null {
  let pos = 0
  let length = 0
  for (let shift = 1; ; shift *= 128) {
    if (pos >= frame.length || shift > 128 ** 4) return 'a bad length header'
    const b = frame[pos++]
    length += (b & 0x7f) * shift
    if (b < 0x80) break
  }
  if (length > maxLength) return `too big: ${length} bytes uncompressed, more than ${maxLength}`
  let out = 0
  while (pos < frame.length) {
    const tag = frame[pos++]
    let n: number
    if ((tag & 3) === 0) {
      n = (tag >> 2) + 1
      if (n > 60) {
        const bytes = n - 60
        if (pos + bytes > frame.length) return 'a literal cut short'
        n = 1
        for (let i = 0, f = 1; i < bytes; i++, f *= 256) n += frame[pos++] * f
      }
      if (pos + n > frame.length) return 'a literal past the end of the frame'
      pos += n
    } else {
      let offset: number
      if ((tag & 3) === 1) {
        if (pos + 1 > frame.length) return 'a copy cut short'
        n = ((tag >> 2) & 7) + 4
        offset = ((tag >> 5) << 8) + frame[pos++]
      } else {
        const bytes = (tag & 3) === 2 ? 2 : 4
        if (pos + bytes > frame.length) return 'a copy cut short'
        n = (tag >> 2) + 1
        offset = 0
        for (let i = 0, f = 1; i < bytes; i++, f *= 256) offset += frame[pos++] * f
      }
      if (offset === 0 || offset > out) return 'a copy from before the start'
    }
    out += n
    if (out > length) return 'more bytes than the stated length'
  }
  return out === length ? null : 'fewer bytes than the stated length'
}

/**
 * How much larger than `cluster_max_payload` (which bounds a frame as sent) a frame from the
 * control plane may be once uncompressed: JSON configurations compress about 5 to 10 times
 * with snappy.
 */
export const UNCOMPRESSED_FACTOR = 16
/**
 * The most a data plane's message may have once uncompressed, on a control plane: a data
 * plane sends only calls with a version and short answers; what is larger is refused before
 * it is uncompressed, so no data plane can make a control plane parse for long.
 */
export const DP_MESSAGE_MAX = 1024 * 1024
/** Calls a peer may have in flight on a session; past them it is answered with an error. */
const MAX_INCOMING_CALLS = 8

// ---- a session --------------------------------------------------------------------------

export interface RpcSessionOptions {
  ws: WebSocket
  methods: RpcMethods
  /** The capabilities the peer announced in the hello. */
  peerCapabilities: readonly string[]
  /** Names the peer in log lines and errors (its node id, or `control_plane`). */
  peer: string
  log: Logger
  /** A ping goes out every this many ms; a peer silent for 1.5 times as long is dropped. */
  pingIntervalMs: number
  /** Bytes a frame may have as sent (`cluster_max_payload`). */
  maxPayload: number
  /** Bytes a frame from the peer may have once uncompressed. */
  maxMessage: number
  /** Called for every ping or pong the peer sends (it is alive). */
  onAlive?: () => void
}

export interface RpcSession {
  /**
   * Calls `method` on the peer.
   * @throws Error when the peer lacks the capability, answers with an error (its message),
   *   gives no answer within `timeoutMs`, or the connection closes first
   */
  call(method: string, params: unknown[], timeoutMs?: number): Promise<unknown>
  /** Whether the peer announced `capability`. */
  has(capability: string): boolean
  close(code?: number, reason?: string): void
}

interface Pending {
  method: string
  resolve(value: unknown): void
  reject(err: Error): void
  timer: NodeJS.Timeout
}

const isId = (v: unknown): v is Id => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))

/** Starts serving and calling on a WebSocket whose hello is done. */
export function startRpcSession(o: RpcSessionOptions): RpcSession {
  const {ws, log} = o
  const capabilities = new Set(o.peerCapabilities)
  const pending = new Map<Id, Pending>()
  let nextId = 1
  let lastSeen = Date.now()
  let lastPing = Date.now()
  let closed = false
  let incoming = 0

  const send = (msg: Record<string, unknown>): Error | null => {
    if (ws.readyState !== ws.OPEN) return new Error('the connection is closed')
    const bytes = encodeRpc(msg)
    if (bytes.length > o.maxPayload) return new Error(`the message is ${bytes.length} bytes compressed, more than cluster_max_payload (${o.maxPayload} bytes)`)
    ws.send(bytes, {binary: true})
    return null
  }
  const sendError = (id: Id, err: RpcError) => void send({jsonrpc: '2.0', id, error: {code: err.code, message: err.message}})

  async function dispatch(id: Id | undefined, method: string, params: unknown[]): Promise<void> {
    const fn = o.methods.get(method)
    if (!fn) {
      log.warn(`[rpc] ${o.peer} called unknown method ${method}`)
      if (id !== undefined) sendError(id, new RpcError(RpcCode.METHOD_NOT_FOUND))
      return
    }
    let result: unknown
    try {
      result = await fn(params)
    } catch (err) {
      const rpcErr = err instanceof RpcError ? err : new RpcError(RpcCode.SERVER_ERROR, (err as Error)?.message ?? String(err))
      if (!(err instanceof RpcError)) log.warn(`[rpc] ${method} for ${o.peer} failed: ${(err as Error)?.stack ?? String(err)}`)
      else log.warn(`[rpc] ${method} for ${o.peer} answered an error: ${rpcErr.message}`)
      if (id !== undefined) sendError(id, rpcErr)
      return
    }
    if (id === undefined) return
    const failed = send({jsonrpc: '2.0', id, result: result ?? null})
    if (failed && ws.readyState === ws.OPEN) {
      log.error(`[rpc] unable to send the result of ${method} to ${o.peer}: ${failed.message}`)
      sendError(id, new RpcError(RpcCode.SERVER_ERROR, failed.message))
    }
  }

  function onResponse(msg: Record<string, unknown>): void {
    const waiting = pending.get(msg.id as Id)
    if (!waiting) {
      log.warn(`[rpc] no interest for RPC response id: ${String(msg.id)}, dropping it`)
      return
    }
    pending.delete(msg.id as Id)
    clearTimeout(waiting.timer)
    if ('error' in msg) {
      const e = msg.error as {code?: unknown; message?: unknown} | null
      const text = typeof e?.message === 'string' ? e.message : 'an error without a message'
      waiting.reject(new Error(`${waiting.method} failed on ${o.peer}: ${text}${typeof e?.code === 'number' ? ` (${e.code})` : ''}`))
    } else if ('result' in msg) waiting.resolve(msg.result)
    else waiting.reject(new Error(`${waiting.method}: ${o.peer} answered neither a result nor an error`))
  }

  function onFrame(data: Buffer): void {
    let msg: unknown
    try {
      msg = decodeRpc(data, o.maxMessage)
    } catch (err) {
      log.warn(`[rpc] unreadable frame from ${o.peer}: ${(err as Error).message}`)
      sendError(null, err as RpcError)
      return
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      log.warn(`[rpc] ${o.peer} sent ${Array.isArray(msg) ? 'a batch' : 'a JSON value'} that is not a JSON-RPC message`)
      sendError(null, new RpcError(RpcCode.INVALID_REQUEST, Array.isArray(msg) ? 'batches are not supported' : 'expected an object'))
      return
    }
    const m = msg as Record<string, unknown>
    const id = isId(m.id) ? m.id : null
    if (m.jsonrpc !== '2.0') {
      log.warn(`[rpc] ${o.peer} sent a message without "jsonrpc": "2.0"`)
      sendError(id, new RpcError(RpcCode.INVALID_REQUEST, '"jsonrpc" must be "2.0"'))
      return
    }
    if (m.method === undefined) {
      if (!('id' in m) || !isId(m.id)) {
        log.warn(`[rpc] ${o.peer} sent a message with neither a method nor an id`)
        sendError(null, new RpcError(RpcCode.INVALID_REQUEST, 'expected a method or an id'))
        return
      }
      onResponse(m)
      return
    }
    if (typeof m.method !== 'string') return sendError(id, new RpcError(RpcCode.INVALID_REQUEST, '"method" must be a string'))
    if ('id' in m && !isId(m.id)) return sendError(null, new RpcError(RpcCode.INVALID_REQUEST, '"id" must be a number, a string or null'))
    if (m.params !== undefined && !Array.isArray(m.params)) return sendError(id, new RpcError(RpcCode.INVALID_PARAMS, '"params" must be an array'))
    if (incoming >= MAX_INCOMING_CALLS) {
      log.warn(`[rpc] ${o.peer} has ${incoming} calls in flight; ${m.method} refused`)
      return sendError(id, new RpcError(RpcCode.SERVER_ERROR, `too many calls in flight (${MAX_INCOMING_CALLS}); wait for their answers`))
    }
    incoming++
    void dispatch('id' in m ? (m.id as Id) : undefined, m.method, (m.params as unknown[] | undefined) ?? []).finally(() => incoming--)
  }

  ws.on('message', (data, isBinary) => {
    lastSeen = Date.now()
    if (!isBinary) {
      log.warn(`[rpc] ${o.peer} sent a text frame; closing the connection`)
      ws.close(1003, 'binary frames only')
      return
    }
    onFrame(Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]))
  })
  const alive = () => {
    lastSeen = Date.now()
    o.onAlive?.()
  }
  ws.on('ping', alive)
  ws.on('pong', alive)
  const waitMs = o.pingIntervalMs * 1.5
  const keepalive = setInterval(
    () => {
      const now = Date.now()
      if (now - lastSeen > waitMs) {
        log.warn(`[rpc] did not hear from ${o.peer} within ${waitMs / 1000} seconds; closing the connection`)
        ws.terminate()
        return
      }
      if (now - lastPing >= o.pingIntervalMs && ws.readyState === ws.OPEN) {
        lastPing = now
        ws.ping()
      }
    },
    Math.max(100, o.pingIntervalMs / 3),
  )
  ws.on('close', () => {
    closed = true
    clearInterval(keepalive)
    for (const [, p] of pending) {
      clearTimeout(p.timer)
      p.reject(new Error(`${p.method}: the connection to ${o.peer} closed before it answered`))
    }
    pending.clear()
  })

  return {
    has: (capability) => capabilities.has(capability),
    call(method, params, timeoutMs = RPC_TIMEOUT_MS) {
      const cap = capabilityOf(method)
      if (!cap || !capabilities.has(cap)) return Promise.reject(new Error(`requested capability does not exist, capability: ${cap ?? method}, node_id: ${o.peer}`))
      if (closed) return Promise.reject(new Error(`${method}: the connection to ${o.peer} is closed`))
      const id = nextId++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`${method}: no answer from ${o.peer} within ${timeoutMs / 1000}s`))
        }, timeoutMs)
        pending.set(id, {method, resolve, reject, timer})
        const failed = send({jsonrpc: '2.0', method, params, id})
        if (failed) {
          clearTimeout(timer)
          pending.delete(id)
          reject(new Error(`${method}: ${failed.message}`))
        }
      })
    },
    close(code = 1000, reason = '') {
      ws.close(code, reason)
    },
  }
}
