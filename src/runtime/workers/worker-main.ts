/** Entry point of a proxy worker process, forked by the node's primary (pool.ts). */
import {runWorker} from './worker.js'

runWorker()
