/** The frame decoder's thread: decodes each frame it is sent (frame.ts) and posts the result back. */
import {parentPort} from 'node:worker_threads'
import {decodeFrame, FrameError} from './frame.js'

parentPort!.on('message', ({id, frame}: {id: number; frame: Uint8Array}) => {
  try {
    parentPort!.postMessage({id, ok: decodeFrame(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength))})
  } catch (err) {
    const e = err instanceof FrameError ? err : new FrameError('decode', String((err as Error)?.message ?? err))
    parentPort!.postMessage({id, error: {stage: e.stage, message: e.message, hash: e.hash}})
  }
})
