import { useCallback, useEffect, useRef, useState } from "react";

/** A page of a cursor-paged listing, as the API answers it. */
export interface CursorPage<T> {
  data: T[];
  next_cursor?: string | null;
}

export interface Paged<T> {
  items: T[];
  loading: boolean;
  error: unknown;
  /** No page is left to load. */
  done: boolean;
  /** Loads the page after those shown. */
  loadMore: () => void;
  /** Tries the page that failed again. */
  retry: () => void;
}

/** A listing read page by page with the API's `next_cursor`, starting with the first page. */
export function usePaged<T>(fetchPage: (cursor: string | null) => Promise<CursorPage<T>>): Paged<T> {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const started = useRef(false);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;

  const load = useCallback(async (after: string | null) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await fetchRef.current(after);
      setItems((previous) => (after === null ? page.data : [...previous, ...page.data]));
      setCursor(page.next_cursor ?? null);
      setDone(!page.next_cursor);
    } catch (failure) {
      setError(failure);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void load(null);
  }, [load]);

  const loadMore = useCallback(() => void load(cursor), [load, cursor]);
  const retry = useCallback(() => void load(items.length === 0 ? null : cursor), [load, items.length, cursor]);
  return { items, loading, error, done, loadMore, retry };
}
