/**
 * What is wrong with a value zod refused, as one short message naming the fields
 * (`email: Invalid email address; name: Required`): the one wording of a validation problem,
 * for HTTP bodies and parameters (server/http/body.ts), Stateless requests and edit ops.
 */
import type { z } from 'zod';

/** At most this many problems are listed in one message (a huge bad value stays a short answer). */
const MAX_ISSUES = 5;

/** `field: problem; other: problem`, with `what` (`body`, `query`, `op`…) for problems of the whole value. */
export function describeIssues(error: z.ZodError, input: unknown, what = 'body'): string {
  const parts = error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : what;
    // A missing field says so, whatever its type would have said ("Invalid UUID",
    // "expected string, received undefined").
    const missing = issue.path.length > 0 && valueAt(input, issue.path) === undefined;
    return `${path}: ${missing ? 'Required' : issue.message}`;
  });
  if (error.issues.length > MAX_ISSUES) parts.push(`and ${error.issues.length - MAX_ISSUES} more`);
  return parts.join('; ');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
