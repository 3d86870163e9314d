/**
 * The metrics the prometheus plugin records, kept per proxy (its state slot), and
 * their rendering in the Prometheus text format with Kong's names, labels and buckets.
 */
/** Kong 3.9's buckets: `kong_latency_ms` has its own, request and upstream latencies share the other set. */
export const KONG_LATENCY_BUCKETS = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000]
export const UPSTREAM_LATENCY_BUCKETS = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000]
const bucketsOf = (name: string) => (name === 'kong_kong_latency_ms' ? KONG_LATENCY_BUCKETS : UPSTREAM_LATENCY_BUCKETS)

type Labels = Record<string, string>

/** Metrics as plain data, to send from a proxy worker to the primary (see workers/). */
export interface MetricsDump {
  counters: Array<[string, Array<[string, number]>]>
  histograms: Array<[string, Array<[string, {counts: number[]; sum: number; total: number}]>]>
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
export const labelText = (l: Labels) => Object.entries(l).map(([k, v]) => `${k}="${escape(v)}"`).join(',')

class Histogram {
  readonly counts: number[]
  sum = 0
  total = 0
  constructor(readonly buckets: number[]) {
    this.counts = new Array<number>(buckets.length).fill(0)
  }
  observe(v: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++
    this.sum += v
    this.total++
  }
}

export class Metrics {
  private readonly counters = new Map<string, Map<string, number>>()
  private readonly histograms = new Map<string, Map<string, Histogram>>()

  inc(name: string, labels: Labels, by = 1): void {
    const family = this.counters.get(name) ?? new Map<string, number>()
    this.counters.set(name, family)
    const key = labelText(labels)
    family.set(key, (family.get(key) ?? 0) + by)
  }

  observe(name: string, labels: Labels, value: number): void {
    const family = this.histograms.get(name) ?? new Map<string, Histogram>()
    this.histograms.set(name, family)
    const key = labelText(labels)
    let h = family.get(key)
    if (!h) family.set(key, (h = new Histogram(bucketsOf(name))))
    h.observe(value)
  }

  dump(): MetricsDump {
    return {
      counters: [...this.counters].map(([name, family]) => [name, [...family]]),
      histograms: [...this.histograms].map(([name, family]) => [name, [...family].map(([k, h]) => [k, {counts: h.counts, sum: h.sum, total: h.total}])]),
    }
  }

  /** Adds another process's metrics: counters, buckets, sums and counts add up. */
  add(d: MetricsDump): void {
    for (const [name, family] of d.counters) {
      const mine = this.counters.get(name) ?? new Map<string, number>()
      this.counters.set(name, mine)
      for (const [k, v] of family) mine.set(k, (mine.get(k) ?? 0) + v)
    }
    for (const [name, family] of d.histograms) {
      const mine = this.histograms.get(name) ?? new Map<string, Histogram>()
      this.histograms.set(name, mine)
      for (const [k, other] of family) {
        let h = mine.get(k)
        if (!h) mine.set(k, (h = new Histogram(bucketsOf(name))))
        other.counts.forEach((c, i) => (h!.counts[i] += c))
        h.sum += other.sum
        h.total += other.total
      }
    }
  }

  render(help: Record<string, string>): string[] {
    const out: string[] = []
    for (const [name, family] of this.counters) {
      out.push(`# HELP ${name} ${help[name] ?? name}`, `# TYPE ${name} counter`)
      for (const [labels, v] of family) out.push(`${name}{${labels}} ${v}`)
    }
    for (const [name, family] of this.histograms) {
      out.push(`# HELP ${name} ${help[name] ?? name}`, `# TYPE ${name} histogram`)
      for (const [labels, h] of family) {
        // Kong prints a bound as a plain number (`le="25"`), the last one as `+Inf`
        h.buckets.forEach((b, i) => out.push(`${name}_bucket{${labels},le="${b}"} ${h.counts[i]}`))
        out.push(`${name}_bucket{${labels},le="+Inf"} ${h.total}`, `${name}_count{${labels}} ${h.total}`, `${name}_sum{${labels}} ${h.sum}`)
      }
    }
    return out
  }
}
