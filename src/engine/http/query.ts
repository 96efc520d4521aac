/** A query value: booleans become `1`/`0`; objects (filters) become JSON; undefined is left out. */
export type QueryValue =
  | string
  | number
  | boolean
  | undefined
  | null
  | readonly string[]
  | Record<string, readonly string[] | Record<string, boolean>>;

/** Encodes a query object as the engine expects it, with a leading `?` (or `''` when empty). */
export function encodeQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(item))}`);
      continue;
    }
    let text: string;
    if (typeof value === 'boolean') text = value ? '1' : '0';
    else if (typeof value === 'object') {
      if (Object.keys(value).length === 0) continue;
      text = JSON.stringify(value);
    } else text = String(value);
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(text)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}
