import { useEffect, useRef, useState } from 'preact/hooks';

export type Loaded<T> =
  | { state: 'loading'; data: T | null }
  | { state: 'ready'; data: T }
  | { state: 'error'; data: T | null; error: unknown };

/**
 * Loads `key`'s data; when the key changes before the answer came, the stale request is
 * aborted, so an older answer can never overwrite a newer one. While loading, the last
 * data stays available (the view dims it instead of blanking the page). `reload()` asks
 * again for the same key. `known`: the first key's data when it is already at hand.
 */
export function useLatest<T>(
  key: string,
  load: (signal: AbortSignal) => Promise<T>,
  known: T | null = null,
): Loaded<T> & { reload(): void; update(change: (data: T) => T): void } {
  const [generation, setGeneration] = useState(0);
  const [loaded, setLoaded] = useState<Loaded<T>>(known === null ? { state: 'loading', data: null } : { state: 'ready', data: known });
  const skipFirstLoad = useRef(known !== null);

  useEffect(() => {
    if (skipFirstLoad.current) {
      skipFirstLoad.current = false;
      return;
    }
    const controller = new AbortController();
    setLoaded((previous) => ({ state: 'loading', data: previous.data }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setLoaded({ state: 'ready', data });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setLoaded((previous) => ({ state: 'error', data: previous.data, error }));
      },
    );
    return () => controller.abort();
    // `load` is a new function each render; the key alone says what it loads.
  }, [key, generation]);

  return {
    ...loaded,
    reload: () => setGeneration((value) => value + 1),
    // For optimistic changes to what is shown (a toggled flag), without asking again.
    update: (change: (data: T) => T) =>
      setLoaded((previous) => (previous.data === null ? previous : ({ ...previous, data: change(previous.data) } as Loaded<T>))),
  };
}
