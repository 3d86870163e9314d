/**
 * The plugins' state in one proxy: one slot per plugin that declares one
 * (`handler.state`), made on first use and closed with the proxy. The proxy owns one
 * `PluginStates` and knows no plugin by name; a plugin reaches its own slot as `k.state`.
 */
import type {PluginEnvironment, PluginStateSlot} from './types.js'

export class PluginStates {
  private readonly slots = new Map<PluginStateSlot<unknown>, unknown>()

  constructor(private readonly env: PluginEnvironment = {}) {}

  /** The state of `slot` in this proxy, made now if it is the first use. */
  of<S>(slot: PluginStateSlot<S>): S {
    const made = this.slots.get(slot)
    if (made !== undefined || this.slots.has(slot)) return made as S
    const state = slot.create(this.env)
    this.slots.set(slot, state)
    return state
  }

  /** The state of `slot` if it was made, without making it (for readers such as `/metrics`). */
  peek<S>(slot: PluginStateSlot<S>): S | undefined {
    return this.slots.get(slot) as S | undefined
  }

  /** Closes every slot that was made; called once, when the proxy closes. */
  async close(): Promise<void> {
    await Promise.all([...this.slots].map(([slot, state]) => slot.close?.(state)))
  }
}
