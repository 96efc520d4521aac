import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * autogen's `dump_component()` output for a DockerCommandLineCodeExecutor: read from the shared
 * reference beside the repository when it is checked out there (`../shared/reference`), else this
 * inline copy of it, so the tests run in any clone.
 */
const REFERENCE_PATH = fileURLToPath(new URL('../../../shared/reference/autogen-dump-component.json', import.meta.url));
export const INLINE_REFERENCE = {
  provider: 'autogen_ext.code_executors.docker.DockerCommandLineCodeExecutor',
  component_type: 'code_executor',
  version: 1,
  component_version: 1,
  description: 'Executes code through a command line environment in a Docker container.',
  label: 'DockerCommandLineCodeExecutor',
  config: {
    image: 'python:3-slim',
    container_name: 'autogen-code-exec-0b6f3c52-8d1e-4c8e-9a51-3d0f2a7e9c14',
    timeout: 60,
    work_dir: 'coding',
    bind_dir: 'coding',
    auto_remove: true,
    stop_container: true,
    functions_module: 'functions',
    extra_volumes: {},
    extra_hosts: {},
    delete_tmp_files: false,
  },
};

/** The reference dump as JSON text. */
export function autogenDumpText(): string {
  return existsSync(REFERENCE_PATH) ? readFileSync(REFERENCE_PATH, 'utf8') : JSON.stringify(INLINE_REFERENCE);
}

/** A fresh copy of the reference dump (callers may change it). */
export function autogenDump(): typeof INLINE_REFERENCE {
  return JSON.parse(autogenDumpText()) as typeof INLINE_REFERENCE;
}
