/**
 * Ending an OpenSSH master connection through its control socket, as `ssh -O exit` does,
 * without starting an ssh client for it: the multiplexing protocol of OpenSSH's PROTOCOL.mux
 * (version 4), packets of a uint32 length and a payload of uint32 fields.
 *
 *   kctl ── HELLO(4) ──▶ master        kctl ◀── HELLO(4) ── master
 *   kctl ── TERMINATE(id) ──▶ master   kctl ◀── OK(id), or the socket closed ── master, exiting
 *
 * Anything else (no socket, a refusal or other reply, a timeout) is `false`: the caller falls
 * back to `ssh -O exit`.
 */
import {connect} from 'node:net'

const MUX_MSG_HELLO = 0x00000001
const MUX_C_TERMINATE = 0x10000005
const MUX_S_OK = 0x80000001
const VERSION = 4

const packet = (...fields: number[]): Buffer => {
  const b = Buffer.alloc(4 + 4 * fields.length)
  b.writeUInt32BE(4 * fields.length, 0)
  fields.forEach((f, i) => b.writeUInt32BE(f, 4 + 4 * i))
  return b
}

/** Asks the master listening on `controlPath` to exit; true once it said yes. */
export function terminateMaster(controlPath: string, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(controlPath)
    let buffered = Buffer.alloc(0)
    let greeted = false
    let asked = false
    const done = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.on('error', () => done(false))
    // OpenSSH 9 closes the socket as it exits, mostly without the OK first
    socket.on('close', () => done(asked))
    socket.on('connect', () => socket.write(packet(MUX_MSG_HELLO, VERSION)))
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
        const body = buffered.subarray(4, 4 + buffered.readUInt32BE(0))
        buffered = buffered.subarray(4 + body.length)
        const type = body.length >= 4 ? body.readUInt32BE(0) : -1
        if (!greeted) {
          if (type !== MUX_MSG_HELLO || body.length < 8 || body.readUInt32BE(4) !== VERSION) return done(false)
          greeted = true
          socket.write(packet(MUX_C_TERMINATE, 1))
          asked = true
          continue
        }
        return done(type === MUX_S_OK && body.length >= 8 && body.readUInt32BE(4) === 1)
      }
    })
  })
}
