/** `task` over `items`, at most `size` at once; the results in the items' order. */
export async function inBatches<T, R>(items: T[], size: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await task(items[i])
    }
  }
  await Promise.all(Array.from({length: Math.min(size, items.length)}, worker))
  return out
}

/**
 * `task` over every item at once, each let finish or fail before a failure is thrown (the
 * first in the items' order): what ran beside a failure is over when the caller cleans up.
 */
export async function allFinished<T, R>(items: readonly T[], task: (item: T) => Promise<R>): Promise<R[]> {
  const settled = await Promise.allSettled(items.map(task))
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failure) throw failure.reason
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value)
}
