// Stands in for undici under Deno (see deno-import-map.json): Berth must never load undici there.
globalThis.__berthUndiciLoads = (globalThis.__berthUndiciLoads ?? 0) + 1;
throw new Error('undici was loaded');
