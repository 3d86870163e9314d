/**
 * The cluster RPC's frames (src/runtime/clustering/rpc.ts): raw snappy blocks of JSON-RPC.
 * Known vectors from the snappy format description; every frame a peer may send, however
 * malformed, is either decoded or refused with a parse error, at once (no frame can make the
 * decoder loop or allocate past the bound).
 */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import fc from 'fast-check'
import {compress, uncompress} from 'snappyjs'
import {decodeRpc, RpcCode, RpcError, snappyProblem} from '../../src/runtime/clustering/rpc.js'

/** decodeRpc's outcome: the value, or the parse error's message. */
function outcome(frame: Uint8Array, max = 1 << 20): {value: unknown} | {error: string} {
  try {
    return {value: decodeRpc(Buffer.from(frame), max)}
  } catch (err) {
    assert.ok(err instanceof RpcError, `an RpcError, got ${err}`)
    assert.equal(err.code, RpcCode.PARSE_ERROR)
    return {error: err.message}
  }
}

describe('cluster RPC frames', () => {
  test('known blocks: literals, copies with 1-, 2- and 4-byte offsets, overlapping copies', () => {
    const cases: Array<[number[], string]> = [
      // "hello": length 5, one literal
      [[0x05, 0x10, ...Buffer.from('hello')], 'hello'],
      // "abcdabcdabcd": literal "abcd", then a copy of 8 from 4 back (1-byte offset)
      [[0x0c, 0x0c, ...Buffer.from('abcd'), 0x11, 0x04], 'abcdabcdabcd'],
      // the same copy with a 2-byte offset (tag 2: length 8 → (8-1)<<2 | 2)
      [[0x0c, 0x0c, ...Buffer.from('abcd'), 0x1e, 0x04, 0x00], 'abcdabcdabcd'],
      // and with a 4-byte offset (tag 3)
      [[0x0c, 0x0c, ...Buffer.from('abcd'), 0x1f, 0x04, 0x00, 0x00, 0x00], 'abcdabcdabcd'],
      // an overlapping copy: "a" then 9 more from 1 back
      [[0x0a, 0x00, 0x61, 0x15, 0x01], 'aaaaaaaaaa'],
    ]
    for (const [bytes, text] of cases) {
      const frame = Uint8Array.from(bytes)
      assert.equal(snappyProblem(frame, 100), null, text)
      assert.equal(Buffer.from(uncompress(Buffer.from(frame))).toString(), text)
    }
    // a literal with its length in the next byte (tag 60 << 2): 61 bytes
    const long = 'x'.repeat(61)
    const frame = Uint8Array.from([61, 60 << 2, 60, ...Buffer.from(long)])
    assert.equal(snappyProblem(frame, 100), null)
    assert.equal(Buffer.from(uncompress(Buffer.from(frame))).toString(), long)
  })

  test('malformed blocks are named, never handed to the decoder', () => {
    const cases: Array<[number[], RegExp]> = [
      [[0x10, 0xfc, 0xfa, 0xff, 0xff, 0xff], /a literal past the end/], // a 4-byte length that wraps in 32 bits
      [[0x05, 0x10, 0x61], /a literal past the end/],
      [[0x08, 0x11, 0x04], /a copy from before the start/],
      [[0x0a, 0x00, 0x61, 0x15, 0x00], /a copy from before the start/], // offset 0
      [[0x02, 0x04, 0x61, 0x62, 0x00, 0x63], /more bytes than the stated length/],
      [[0x05, 0x10, 0x61, 0x62], /a literal past the end/],
      [[0x04, 0x04, 0x61, 0x62], /fewer bytes than the stated length/],
      [[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], /a bad length header/],
      [[], /a bad length header/],
      [[0x80, 0x80, 0x80, 0x20, 0x00, 0x61], /too big: 67108864 bytes uncompressed, more than 100/],
    ]
    for (const [bytes, why] of cases) assert.match(snappyProblem(Uint8Array.from(bytes), 100) ?? 'accepted', why, Buffer.from(bytes).toString('hex'))
    assert.match((outcome(Uint8Array.from([0x10, 0xfc, 0xfa, 0xff, 0xff, 0xff])) as {error: string}).error, /^Parse error: not a snappy frame \(a literal past the end/)
  })

  test('every frame, random or a valid one changed, is decoded or refused at once; valid ones round-trip', () => {
    const json = fc.jsonValue({maxDepth: 3}).map((v) => JSON.stringify(v) ?? 'null')
    fc.assert(
      fc.property(json, (text) => {
        const frame = compress(Buffer.from(text))
        assert.equal(snappyProblem(frame, 1 << 20), null)
        assert.deepEqual(outcome(frame), {value: JSON.parse(text)})
      }),
      {numRuns: 300},
    )
    const mutated = fc.tuple(json, fc.array(fc.tuple(fc.nat(), fc.integer({min: 0, max: 255})), {minLength: 1, maxLength: 4}))
    fc.assert(
      fc.property(mutated, ([text, edits]) => {
        const frame = Buffer.from(compress(Buffer.from(text)))
        for (const [at, byte] of edits) frame[at % frame.length] = byte
        const problem = snappyProblem(frame, 1 << 20)
        const got = outcome(frame)
        // what the check lets through, the decoder takes: it is JSON or not
        if (problem === null) assert.ok('value' in got || /^Parse error: not JSON/.test(got.error), JSON.stringify(got))
        else assert.deepEqual(got, {error: `Parse error: not a snappy frame (${problem})`})
      }),
      {numRuns: 1000},
    )
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 64}), (bytes) => {
        outcome(bytes)
      }),
      {numRuns: 2000},
    )
  })
})
