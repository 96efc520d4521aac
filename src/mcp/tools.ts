/**
 * The tools `berth mcp` offers, as `tools/list` describes them: names, descriptions, input
 * schemas (validated on every call) and output schemas (matched by `structuredContent`).
 * @module
 */

import type { ObjectSchema } from '../agents/json-schema.js';

/** Languages `run_code` accepts. */
export const TOOL_LANGUAGES: readonly string[] = ['python', 'bash', 'sh', 'pwsh'];

/** A tool as `tools/list` gives it. */
export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  inputSchema: ObjectSchema;
  /** JSON Schema of `structuredContent`; sent to clients of protocol 2025-06-18 and later. */
  outputSchema?: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
}

const object = (properties: Record<string, unknown>): Record<string, unknown> => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
});

/** The tools, given the server's block timeout in seconds (the most `run_code` may ask for). */
export function toolDefinitions(maxTimeout: number): ToolDefinition[] {
  return [
    {
      name: 'run_code',
      title: 'Run code',
      description:
        'Runs a block of code in a sandboxed Docker container and returns its output and exit code. ' +
        'The working directory is /workspace, shared with the file tools and kept between calls. ' +
        `Languages: ${TOOL_LANGUAGES.join(', ')}. A block that runs longer than the timeout is stopped.`,
      inputSchema: {
        type: 'object',
        properties: {
          language: { type: 'string', enum: TOOL_LANGUAGES, description: 'The language of the code.' },
          code: { type: 'string', description: 'The code to run.' },
          timeout: {
            type: 'integer',
            minimum: 1,
            maximum: maxTimeout,
            description: `Seconds the code may run (default and most: ${maxTimeout}).`,
          },
        },
        required: ['language', 'code'],
        additionalProperties: false,
      },
      outputSchema: object({
        exitCode: { type: 'integer', description: 'Exit code; 124 on timeout.' },
        stdout: { type: 'string' },
        stderr: { type: 'string' },
        timedOut: { type: 'boolean' },
        truncated: { type: 'boolean', description: 'True when output beyond the limit was dropped.' },
      }),
      annotations: { openWorldHint: false },
    },
    {
      name: 'write_file',
      title: 'Write a file',
      description: 'Writes a file in /workspace (parent folders are created), replacing what is there.',
      inputSchema: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'Path relative to /workspace (or absolute under it).' },
          content: { type: 'string', description: 'The contents: text, or base64 when encoding is base64.' },
          encoding: { type: 'string', enum: ['utf8', 'base64'], description: 'How content is given. Default utf8.' },
        },
        required: ['path', 'content'],
        additionalProperties: false,
      },
      outputSchema: object({ path: { type: 'string' }, bytes: { type: 'integer' } }),
      annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    {
      name: 'read_file',
      title: 'Read a file',
      description: 'Reads a file in /workspace: as text when it is UTF-8, else as base64.',
      inputSchema: {
        type: 'object',
        properties: { path: { type: 'string', description: 'Path relative to /workspace (or absolute under it).' } },
        required: ['path'],
        additionalProperties: false,
      },
      outputSchema: object({
        path: { type: 'string' },
        encoding: { type: 'string', enum: ['utf8', 'base64'] },
        content: { type: 'string' },
        bytes: { type: 'integer' },
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    {
      name: 'list_files',
      title: 'List files',
      description: 'Lists a folder of /workspace (default: /workspace itself), not recursively.',
      inputSchema: {
        type: 'object',
        properties: { path: { type: 'string', description: 'Folder relative to /workspace (or absolute under it). Default /workspace.' } },
        additionalProperties: false,
      },
      outputSchema: object({
        path: { type: 'string' },
        entries: {
          type: 'array',
          items: object({
            name: { type: 'string' },
            type: { type: 'string', enum: ['file', 'directory', 'symlink', 'other'] },
            size: { type: 'integer' },
          }),
        },
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    {
      name: 'restart_sandbox',
      title: 'Restart the sandbox',
      description: 'Restarts the sandbox container: every process it runs is stopped; files in /workspace stay.',
      inputSchema: { type: 'object', properties: {}, additionalProperties: false },
      annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
  ];
}
