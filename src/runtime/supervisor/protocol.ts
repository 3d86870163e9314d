/**
 * What a node's supervisor and its serving process say over their IPC channel (JSON,
 * plus a listening handle on `listen-result`). Shared by supervisor.ts and serving.ts.
 *
 *   supervisor                                   serving process
 *   ──────────                                   ───────────────
 *   fork (env: restarts, last crash) ──────────► start the node
 *                               ◄─────────────── listen {key, host, port}   (one per listener)
 *   bind once, keep it ─► listen-result + handle ► server.listen(handle)
 *                               ◄─────────────── started                    (serving)
 *                               ◄─────────────── start-failed {message}     (then exit 1)
 *                               ◄─────────────── crashed {cause}            (then exit 1)
 *   SIGTERM ───────────────────────────────────► drain, exit 0
 *
 * A reload (SIGHUP to the supervisor) forks a second serving process beside the first:
 *
 *   fork the new one ─► it asks for the same sockets, both accept ─► started
 *   retire ────────────────────────────────────► (the old one) stop accepting, answer
 *                                                 with `Connection: close`, drain, exit 0
 *
 * A warm spare (`kctl_warm_spare`, on by default) is a serving process forked ahead of
 * need (env KCTL_SPARE): it loads the runtime's code and waits, with no socket, database
 * or control-plane connection, until a crash restart or a reload needs a serving process:
 *
 *   fork (env: KCTL_SPARE) ────────────────────► load the code
 *                               ◄─────────────── standing-by                (waits)
 *   activate {restarts, last crash} ───────────► read the conf, start the node (as above)
 */

export type ToSupervisor =
  | {type: 'listen'; id: number; key: string; host: string; port: number}
  /** A warm spare loaded its code and waits. */
  | {type: 'standing-by'}
  /** Serving; `spare`: its conf wants a warm spare kept beside it (kctl_warm_spare). */
  | {type: 'started'; spare?: boolean}
  /** The node refused to start (its `Error:` lines are on stderr); exits 1 next. */
  | {type: 'start-failed'; message: string}
  /** An uncaught exception: its first line; exits 1 next. */
  | {type: 'crashed'; cause: string}

export type ToServing =
  /** With the listening handle, or `code` (EADDRINUSE, …) when binding failed. */
  | {type: 'listen-result'; id: number; code?: string; message?: string}
  /** A newer serving process took over: drain gently and exit 0. */
  | {type: 'retire'}
  /** To a warm spare: become the serving process. */
  | {type: 'activate'; info: SupervisionInfo}

export interface LastCrash {
  /** Epoch seconds. */
  at: number
  /** `exit code 1: crashed: Error: …`, `killed by SIGKILL`. */
  cause: string
}

export interface LastReload {
  /** Epoch milliseconds of the SIGHUP it answers. */
  at: number
  ok: boolean
  /** Why the new serving process was not taken (ok false). */
  error: string | null
}

/** What the supervisor tells a serving process it forks (env `KCTL_SUPERVISION`, JSON). */
export interface SupervisionInfo {
  restarts: number
  last_crash: LastCrash | null
}

export const SUPERVISION_ENV = 'KCTL_SUPERVISION'

/** Set (to `1`) beside SUPERVISION_ENV on a warm spare. */
export const SPARE_ENV = 'KCTL_SPARE'

/**
 * A handover (SIGUSR2 to the supervisor, as nginx's binary upgrade): the supervisor starts
 * a new supervisor (the runtime's code read afresh) and gives it every listening socket.
 *
 *   old supervisor                               new supervisor (env KCTL_HANDOVER)
 *   ──────────────                               ──────────────
 *                               ◄─────────────── handles?
 *   handle {host, port} + socket, … ───────────► adopt each
 *   handles-done ──────────────────────────────► fork its serving process
 *                               ◄─────────────── took-over   (its serving process started)
 *   retire its serving process, exit 0           owns supervisor.json from now on
 *                               ◄─────────────── failed {message}  (did not start; exits)
 */
export type FromSuccessor = {type: 'handles?'} | {type: 'took-over'} | {type: 'failed'; message: string}

export type ToSuccessor = {type: 'handle'; host: string; port: number} | {type: 'handles-done'}

export const HANDOVER_ENV = 'KCTL_HANDOVER'

export interface LastHandover {
  /** Epoch milliseconds of the SIGUSR2 it answers. */
  at: number
  ok: boolean
  /** The new supervisor's pid. */
  pid: number | null
  error: string | null
}
