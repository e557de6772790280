import type { DynamicConfig, DynamicKey, DynamicValues } from '../../src/config/dynamic.ts'

/** Long enough for a debounced file read or a table poll on a loaded machine; only a failing test waits it out. */
const GIVE_UP_MS = 5000

/**
 * Resolves once `dynamic.get(key)` satisfies `accept`: at once if it already does (the change came
 * first), otherwise at the change event that makes it so. Rejects after GIVE_UP_MS, naming `what`.
 */
export async function untilValue<K extends DynamicKey> (
  dynamic: Pick<DynamicConfig, 'get' | 'onChange'>,
  key: K,
  accept: (value: DynamicValues[K]) => boolean,
  what: string
): Promise<void> {
  if (accept(dynamic.get(key))) return
  await new Promise<void>((resolve, reject) => {
    const stop = dynamic.onChange(key, (value) => {
      if (!accept(value)) return
      stop()
      clearTimeout(timer)
      resolve()
    })
    const timer = setTimeout(() => {
      stop()
      reject(new Error(`timed out waiting for ${what}`))
    }, GIVE_UP_MS)
  })
}
