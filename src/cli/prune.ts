// The CLI's `berth prune` uses the library's prune (public as `pruneContainers` from `berth`).
export * from '../executor/prune.js';
