import { DockerArgumentError } from './errors.js';

// Container names: what the daemon accepts ([a-zA-Z0-9][a-zA-Z0-9_.-]+), with an optional leading
// slash as inspect reports them. IDs are hex and match the same pattern.
const CONTAINER_REF = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const HEX_ID = /^[a-f0-9]{1,64}$/;
// Image references: [host[:port]/]path[:tag][@digest], or an image ID (sha256:… or hex).
const IMAGE_REF =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : String(value);
}

/** Checks a container ID or name before any I/O. */
export function checkContainerId(id: unknown, argument = 'id'): string {
  if (typeof id !== 'string' || id.length === 0)
    throw new DockerArgumentError(argument, `expected a container ID or name, got ${describe(id)}`);
  if (id.length > 256 || !CONTAINER_REF.test(id)) {
    throw new DockerArgumentError(
      argument,
      `not a valid container ID or name: ${describe(id)} (allowed: letters, digits, _ . -, starting with a letter or digit)`,
    );
  }
  return id;
}

/** Checks an exec instance ID (hex) before any I/O. */
export function checkExecId(id: unknown, argument = 'execId'): string {
  if (typeof id !== 'string' || !HEX_ID.test(id))
    throw new DockerArgumentError(argument, `not a valid exec ID: ${describe(id)} (expected hex digits)`);
  return id;
}

/** Checks an image reference (name[:tag][@digest]) or image ID before any I/O. */
export function checkImageRef(ref: unknown, argument = 'image'): string {
  if (typeof ref !== 'string' || ref.length === 0)
    throw new DockerArgumentError(argument, `expected an image reference, got ${describe(ref)}`);
  if (/^sha256:[a-f0-9]{64}$/.test(ref) || /^[a-f0-9]{12,64}$/.test(ref)) return ref;
  if (ref.length > 512 || !IMAGE_REF.test(ref) || !hasLowerCaseRepository(ref)) {
    throw new DockerArgumentError(
      argument,
      `not a valid image reference: ${describe(ref)} (expected name[:tag][@digest], lower-case name)`,
    );
  }
  return ref;
}

/**
 * Like the docker CLI, a first component is a registry only when it has a `.` or a `:` or is
 * `localhost`; otherwise it is part of the repository path, which must be lower case (`Upper/x`
 * is refused by the engine, `Registry.Example.com/x` is not).
 */
function hasLowerCaseRepository(ref: string): boolean {
  const slash = ref.indexOf('/');
  if (slash < 0) return true;
  const first = ref.slice(0, slash);
  return /[.:]/.test(first) || first === 'localhost' || first === first.toLowerCase();
}

/** Checks a non-empty absolute path inside a container. */
export function checkContainerPath(path: unknown, argument = 'path'): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) {
    throw new DockerArgumentError(argument, `expected an absolute path inside the container, got ${describe(path)}`);
  }
  return path;
}

/** Splits `name[:tag][@digest]` into the repository and tag (`latest` when none is given). */
export function splitImageRef(ref: string): { repo: string; tag: string | undefined; digest: string | undefined } {
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) return { repo: name.slice(0, colon), tag: name.slice(colon + 1), digest };
  return { repo: name, tag: digest ? undefined : 'latest', digest };
}

/** Checks an optional whole number >= `min` (seconds, sizes, counts) before any I/O. */
export function checkWholeNumber(value: unknown, argument: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new DockerArgumentError(argument, `expected a whole number >= ${min}, got ${describe(value)}`);
  }
  return value;
}

/** Checks a command: a non-empty array of strings. */
export function checkCommand(cmd: unknown, argument: string): string[] {
  if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((part) => typeof part === 'string')) {
    throw new DockerArgumentError(
      argument,
      `expected a non-empty array of strings, got ${describe(Array.isArray(cmd) ? JSON.stringify(cmd) : cmd)}`,
    );
  }
  return cmd;
}

/**
 * Checks a network ID or name before any I/O. The engine takes almost any name (even with spaces),
 * so only what cannot name a network is refused: empty, over 256 characters, control characters or `/`.
 */
export function checkNetworkId(id: unknown, argument = 'id'): string {
  if (typeof id !== 'string' || id.length === 0)
    throw new DockerArgumentError(argument, `expected a network ID or name, got ${describe(id)}`);
  if (id.length > 256 || /[\u0000-\u001f\u007f/]/.test(id)) {
    throw new DockerArgumentError(argument, `not a valid network ID or name: ${describe(id)} (no control characters or /)`);
  }
  return id;
}

// Volume names of the local driver, as the daemon checks them: [a-zA-Z0-9][a-zA-Z0-9_.-]+.
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Checks a volume name before any I/O (the rule of the `local` driver; other drivers' names follow it too in practice). */
export function checkVolumeName(name: unknown, argument = 'name'): string {
  if (typeof name !== 'string' || name.length === 0)
    throw new DockerArgumentError(argument, `expected a volume name, got ${describe(name)}`);
  if (name.length > 256 || !VOLUME_NAME.test(name)) {
    throw new DockerArgumentError(
      argument,
      `not a valid volume name: ${describe(name)} (at least 2 characters: letters, digits, _ . -, starting with a letter or digit)`,
    );
  }
  return name;
}

/** Checks filters (`{ name: [values] }`) before any I/O: an object whose values are arrays of strings. */
export function checkFilters(filters: unknown, argument = 'filters'): void {
  if (filters === undefined) return;
  if (typeof filters !== 'object' || filters === null || Array.isArray(filters)) {
    throw new DockerArgumentError(argument, `expected an object such as { label: ['a=b'] }, got ${describe(JSON.stringify(filters))}`);
  }
  for (const [key, values] of Object.entries(filters)) {
    if (!Array.isArray(values) || values.some((value) => typeof value !== 'string')) {
      throw new DockerArgumentError(`${argument}.${key}`, `expected an array of strings, got ${describe(JSON.stringify(values))}`);
    }
  }
}
