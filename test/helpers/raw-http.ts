/** HTTP requests written byte for byte, for targets and bodies that fetch would normalize or refuse. */
import {connect} from 'node:net'

export interface RawReply {
  status: number
  headers: string
  body: string
}

/** One request on its own connection, written byte for byte (fetch would normalize the target). */
export function raw(port: number, head: string, body: string | Buffer = ''): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    socket.setEncoding('latin1')
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer within 15 s to ${head.split('\r\n')[0]}`)))
    socket.on('data', (d) => (data += d))
    socket.on('error', reject)
    socket.on('close', () => {
      const sep = data.indexOf('\r\n\r\n')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data)
      if (!m) return reject(new Error(`no HTTP answer: ${JSON.stringify(data.slice(0, 200))}`))
      resolve({status: Number(m[1]), headers: data.slice(0, sep), body: data.slice(sep + 4)})
    })
    // Not end(): a half-closed connection may be dropped before a slow answer.
    socket.write(`${head}\r\nHost: x\r\nConnection: close\r\n${body.length ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n`)
    if (body.length) socket.write(body)
  })
}
