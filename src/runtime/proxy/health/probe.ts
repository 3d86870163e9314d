/**
 * One active health probe, as Kong's checker does it: connect (TCP, or TLS for `https`),
 * and for `tcp` stop there; otherwise send `GET <http_path> HTTP/1.0` with the Host
 * header and the configured headers, read the status line, close. `timeout` bounds
 * each wait (connect, handshake, status line). `grpc`/`grpcs` probe over plain HTTP,
 * as Kong's checker does (only `https` is TLS).
 */
import net, {type LookupFunction, type Socket} from 'node:net'
import tls from 'node:tls'
import {classifyConnect} from '../upstream/index.js'

export interface ProbeSpec {
  type: string
  host: string
  port: number
  /** Milliseconds. */
  timeout: number
  path: string
  hostHeader: string
  /** `https` only. */
  sni?: string
  verify: boolean
  headers: Record<string, string[]> | null
  /** Resolves the host when it is a name; Node's default when absent. */
  lookup?: LookupFunction
}

export type ProbeResult = {status: number} | {success: true} | {failure: 'tcp' | 'timeout'} | {dns: true}

const STATUS_LINE = /^HTTP\/\d+\.\d+\s+(\d{3})/
const IP = /^(\d{1,3}(\.\d{1,3}){3}|.*:.*)$/
const MAX_LINE = 8192

/** Resolves with what the probe showed; never rejects. `track` sees the socket so that a stop can destroy it. */
export function probe(spec: ProbeSpec, track: (s: Socket) => () => void): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const https = spec.type === 'https'
    const socket: Socket = https
      ? tls.connect({host: spec.host, port: spec.port, servername: spec.sni ?? (IP.test(spec.host) ? undefined : spec.host), rejectUnauthorized: spec.verify, lookup: spec.lookup})
      : net.connect({host: spec.host, port: spec.port, lookup: spec.lookup})
    const untrack = track(socket)
    let done = false
    let head = ''
    const finish = (r: ProbeResult) => {
      if (done) return
      done = true
      untrack()
      socket.destroy()
      resolve(r)
    }
    socket.setTimeout(spec.timeout, () => finish({failure: 'timeout'}))
    socket.on('error', (err: Error & {code?: string}) => {
      const kind = classifyConnect(err).kind
      finish(kind === 'dns' ? {dns: true} : {failure: 'tcp'})
    })
    socket.on('close', () => finish({failure: 'tcp'}))
    socket.once(https ? 'secureConnect' : 'connect', () => {
      if (spec.type === 'tcp') return finish({success: true})
      socket.write(requestHead(spec))
    })
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1')
      const eol = head.indexOf('\r\n')
      if (eol < 0 && head.length < MAX_LINE) return
      const m = STATUS_LINE.exec(head)
      // no valid status line: Kong reports status 0, an HTTP failure
      finish({status: m ? Number(m[1]) : 0})
    })
  })
}

function requestHead(spec: ProbeSpec): string {
  let head = `GET ${spec.path} HTTP/1.0\r\nHost: ${spec.hostHeader}\r\n`
  for (const [name, values] of Object.entries(spec.headers ?? {})) {
    // the schema takes any string: a CR or LF would split the request
    for (const v of values ?? []) if (!/[\r\n]/.test(name + v)) head += `${name}: ${v}\r\n`
  }
  return head + '\r\n'
}
