/** The status store, read from React: re-renders only when the store emits. */
import {useSyncExternalStore} from 'react'
import type {StatusState, StatusStore} from './status-store.js'

export function useStatusStore(store: StatusStore): StatusState {
  return useSyncExternalStore(store.subscribe, store.get, store.get)
}
