/**
 * The small part of JSON Schema that Berth's tool inputs use (objects of strings, integers and
 * booleans, `enum`, bounds, `required`, `additionalProperties: false`), with a validator whose
 * messages name the argument: what `berth mcp` and `berth/ai` check model-written arguments with.
 * @module
 */

/** A JSON Schema for one tool argument. */
export interface ArgumentSchema {
  type: 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
}

/** A JSON Schema for a tool's arguments: an object of named arguments. */
export interface ObjectSchema {
  type: 'object';
  properties: Record<string, ArgumentSchema>;
  required?: readonly string[];
  additionalProperties: false;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function checkArgument(name: string, schema: ArgumentSchema, value: unknown): string | undefined {
  const wanted = schema.type === 'integer' ? 'a whole number' : schema.type === 'number' ? 'a number' : `a ${schema.type}`;
  const isNumber = typeof value === 'number' && Number.isFinite(value);
  const ok =
    schema.type === 'string'
      ? typeof value === 'string'
      : schema.type === 'boolean'
        ? typeof value === 'boolean'
        : schema.type === 'integer'
          ? isNumber && Number.isInteger(value)
          : isNumber;
  if (!ok) return `argument \`${name}\` must be ${wanted}, got ${describe(value)}`;
  if (schema.enum && !schema.enum.includes(value as string)) {
    return `argument \`${name}\` must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`;
  }
  if (schema.minimum !== undefined && (value as number) < schema.minimum) {
    return `argument \`${name}\` must be at least ${schema.minimum}, got ${value}`;
  }
  if (schema.maximum !== undefined && (value as number) > schema.maximum) {
    return `argument \`${name}\` must be at most ${schema.maximum}, got ${value}`;
  }
  return undefined;
}

/**
 * Checks `value` against an object schema. Returns the problems, each naming the argument
 * (`argument \`code\` is required`, `argument \`timeout\` must be a whole number, got the string "x"`);
 * empty when the value fits.
 */
export function validateArguments(schema: ObjectSchema, value: unknown): string[] {
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`arguments must be an object, got ${describe(value)}`];
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const name of schema.required ?? []) {
    if (record[name] === undefined) problems.push(`argument \`${name}\` is required`);
  }
  for (const [name, item] of Object.entries(record)) {
    const property = schema.properties[name];
    if (property === undefined) {
      const known = Object.keys(schema.properties);
      problems.push(
        `unknown argument \`${name}\`${known.length ? ` (this tool takes ${known.map((k) => `\`${k}\``).join(', ')})` : ' (this tool takes none)'}`,
      );
      continue;
    }
    if (item === undefined) continue;
    const problem = checkArgument(name, property, item);
    if (problem) problems.push(problem);
  }
  return problems;
}
