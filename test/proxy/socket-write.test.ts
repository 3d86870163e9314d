/**
 * Writes straight to a socket's handle (src/runtime/proxy/socket-write.ts) behave as
 * `socket.write` does: bytes in order with the Writable's own writes, `bytesWritten`,
 * the callback after the caller returns and only once the kernel has the bytes, a failed
 * write destroying the socket, and the fallback when the Writable holds data. Writes held
 * for the end of the event loop's turn leave then, in order, before anything written or
 * ended after them.
 */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {createServer, connect, type Server, type Socket} from 'node:net'
import {after, before, describe, test} from 'node:test'
import {bytesWritten, holdLatin1, nativeWrites, releaseLatin1, writeLatin1} from '../../src/runtime/proxy/socket-write.js'
import {until} from '../helpers/until.js'

let server: Server
const accepted: Socket[] = []
before(async () => {
  server = createServer((s) => accepted.push(s))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
})
after(async () => {
  for (const s of accepted) s.destroy()
  server.close()
})

/** A connected pair: our client socket and the server's side of it. */
async function pair(): Promise<{client: Socket; peer: Socket}> {
  const n = accepted.length
  const client = connect((server.address() as {port: number}).port, '127.0.0.1')
  await once(client, 'connect')
  while (accepted.length === n) await new Promise((r) => setImmediate(r))
  return {client, peer: accepted[n]}
}

const read = (s: Socket, bytes: number): Promise<string> =>
  new Promise((resolve, reject) => {
    let got = ''
    s.setEncoding('latin1')
    s.on('data', (d: string) => {
      got += d
      if (got.length >= bytes) resolve(got)
    })
    s.once('error', reject)
  })

describe('writes straight to the socket handle', () => {
  test('this Node has the binding (else every write is socket.write, and this suite checks the fallback)', () => {
    assert.equal(typeof nativeWrites, 'boolean')
    if (process.env.KCTL_NODE_NATIVE_WRITES !== '0') assert.equal(nativeWrites, true)
  })

  test('small writes: in order with socket.write, counted in bytesWritten, called back after the caller returns', async () => {
    const {client, peer} = await pair()
    const parts = ['GET / HTTP/1.1\r\n', 'a'.repeat(1000), '\u00e9\u00ff latin1 \r\n', 'last']
    const total = parts.reduce((n, p) => n + p.length, 0)
    const got = read(peer, total)
    const order: string[] = []
    let returned = false
    writeLatin1(client, parts[0], (err) => {
      assert.equal(err, null)
      assert.ok(returned, 'the callback ran after writeLatin1 returned')
      order.push('first')
    })
    returned = true
    client.write(parts[1], 'latin1')
    writeLatin1(client, parts[2]) // the Writable may hold parts[1]: then this goes after it
    writeLatin1(client, parts[3], () => order.push('last'))
    assert.equal(await got, parts.join(''))
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(order, ['first', 'last'])
    assert.equal(client.bytesWritten, total)
    client.destroy()
  })

  test('a write the kernel cannot take at once calls back only once the peer has read it, and keeps its place', async () => {
    const {client, peer} = await pair()
    peer.pause()
    const big = 'x'.repeat(16 * 1024 * 1024)
    let done = false
    writeLatin1(client, big, (err) => {
      assert.equal(err, null)
      done = true
    })
    client.write('tail', 'latin1')
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(done, false, 'not called back while 16 MiB wait for the peer')
    const got = read(peer, big.length + 4)
    peer.resume()
    const all = await got
    assert.equal(all.length, big.length + 4)
    assert.equal(all.slice(-5), 'xtail')
    while (!done) await new Promise((r) => setImmediate(r))
    assert.equal(client.bytesWritten, big.length + 4)
    client.destroy()
  })

  test('a socket timeout is put off while a queued write still moves, as with socket.write', async () => {
    const {client, peer} = await pair()
    let timeouts = 0
    client.setTimeout(300, () => timeouts++)
    // the peer reads a little every 150 ms: never 300 ms without progress
    peer.pause()
    const reader = setInterval(() => {
      peer.resume()
      setTimeout(() => peer.pause(), 1)
    }, 150)
    let received = 0
    peer.on('data', (d: Buffer) => (received += d.length))
    const size = 24 * 1024 * 1024
    await new Promise<void>((resolve, reject) => writeLatin1(client, 'w'.repeat(size), (err) => (err ? reject(err) : resolve())))
    clearInterval(reader)
    assert.equal(timeouts, 0, 'no timeout while the write moved')
    peer.resume()
    await until('the peer has every byte', () => received === size, {timeoutMs: 10_000})
    client.destroy()
  })

  test('a write queued when the socket is destroyed calls back with an error; the process goes on', async () => {
    const {client, peer} = await pair()
    peer.pause()
    const result = new Promise<Error | null | undefined>((resolve) => writeLatin1(client, 'y'.repeat(16 * 1024 * 1024), resolve))
    await new Promise((r) => setTimeout(r, 50))
    client.destroy()
    const err = await result
    // socket.write (the fallback) calls back without an error here
    if (nativeWrites) assert.ok(err instanceof Error, `an error, got ${err}`)
    else assert.equal(err ?? null, null)
    assert.equal(client.destroyed, true)
    peer.destroy()
  })

  test('a write to a socket the peer reset fails, and destroys the socket with the error', async () => {
    const {client, peer} = await pair()
    peer.resetAndDestroy()
    await once(client, 'error').catch(() => {})
    const errors: Error[] = []
    client.on('error', (e) => errors.push(e))
    const err = await new Promise<Error | null | undefined>((resolve) => writeLatin1(client, 'z'.repeat(1024), resolve))
    assert.ok(err instanceof Error)
    assert.equal(client.destroyed, true)
  })

  // held or not: a write that finds the Writable holding data goes through it at once
  for (const write of [writeLatin1, holdLatin1]) {
    test(`a socket whose Writable holds data (corked) is written through it, in order (${write.name})`, async () => {
      const {client, peer} = await pair()
      const got = read(peer, 6)
      client.cork()
      client.write('abc', 'latin1')
      write(client, 'def')
      client.uncork()
      assert.equal(await got, 'abcdef')
      client.destroy()
    })
  }
})

const turnEnds = () => new Promise((r) => setImmediate(r))

describe('writes held until the turn ends', () => {
  test('leave when the turn ends, not before; two to one socket go together, called back in order; each socket keeps its bytes', async () => {
    const one = await pair()
    const two = await pair()
    const gotOne = read(one.peer, 9)
    const gotTwo = read(two.peer, 3)
    const order: string[] = []
    holdLatin1(one.client, 'abc', (err) => order.push(`abc ${err}`))
    holdLatin1(two.client, 'xyz', (err) => order.push(`xyz ${err}`))
    holdLatin1(one.client, 'def', (err) => order.push(`def ${err}`))
    holdLatin1(one.client, 'ghi')
    if (nativeWrites) {
      // held: not with the kernel yet, but counted as written (a request's start reads the count)
      assert.equal(one.client.bytesWritten, 0)
      assert.equal(bytesWritten(one.client), 9)
      assert.equal(bytesWritten(two.client), 3)
    }
    await turnEnds()
    assert.equal(one.client.bytesWritten, 9)
    assert.equal(await gotOne, 'abcdefghi')
    assert.equal(await gotTwo, 'xyz')
    await turnEnds()
    // one write per socket: its two callbacks together, in the order given
    assert.deepEqual(order, ['abc null', 'def null', 'xyz null'])
    assert.equal(bytesWritten(one.client), 9)
    one.client.destroy()
    two.client.destroy()
  })

  test('a turn with many sockets to write sends them 32 at a time, not all at its end', async () => {
    const pairs = []
    for (let i = 0; i < 33; i++) pairs.push(await pair())
    for (const {client} of pairs) holdLatin1(client, 'x')
    if (nativeWrites) {
      // the first 32 went when the 32nd was held; the 33rd waits for the end of the turn
      assert.deepEqual(pairs.map(({client}) => client.bytesWritten), [...Array(32).fill(1), 0])
    }
    await turnEnds()
    assert.deepEqual(pairs.map(({client}) => client.bytesWritten), Array(33).fill(1))
    for (const {client, peer} of pairs) {
      client.destroy()
      peer.destroy()
    }
  })

  test('a write straight after a held one, or an end after it is released, comes after its bytes', async () => {
    const {client, peer} = await pair()
    const got = read(peer, 10)
    holdLatin1(client, 'held ')
    writeLatin1(client, 'then')
    releaseLatin1(client) // nothing held any more: does nothing
    holdLatin1(client, '!')
    releaseLatin1(client)
    const ended = once(peer, 'end')
    client.end()
    await ended
    assert.equal(await got, 'held then!')
    client.destroy()
  })

  test('a socket destroyed with a write held calls that write back with an error; the process goes on', async () => {
    const {client, peer} = await pair()
    const result = new Promise<Error | null | undefined>((resolve) => holdLatin1(client, 'never sent', resolve))
    client.destroy()
    const err = await result
    assert.ok(err instanceof Error, `an error, got ${err}`)
    let received = 0
    peer.on('data', (d: Buffer) => (received += d.length))
    await once(peer, 'end')
    assert.equal(received, 0)
    peer.destroy()
  })
})
