/**
 * Whether we run under CI, one rule for every caller: `CI` (or `CONTINUOUS_INTEGRATION`)
 * set to anything but an empty string, `0` or `false`. Ink's own check (is-in-ci) also
 * counts an empty value, which would keep a dashboard we chose to show from drawing.
 */
const set = (name: string): boolean => {
  const v = process.env[name]
  return v !== undefined && v !== '' && v !== '0' && v !== 'false'
}

export const inCi = (): boolean => set('CI') || set('CONTINUOUS_INTEGRATION')

/** Before Ink loads for an interactive view: drops the empty CI variables Ink would count. */
export function clearEmptyCiVars(): void {
  for (const name of ['CI', 'CONTINUOUS_INTEGRATION']) if (process.env[name] === '') delete process.env[name]
}
