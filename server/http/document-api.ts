import type { ApiDependencies } from './api-dependencies.js';
import { findDocument } from '../../persistence/documents.js';
import { HISTORY_MAX_LIMIT, listHistory } from '../../persistence/history.js';
import { json, type RouteTable } from './routes.js';

/** Parses an optional positive integer query parameter; null when absent, undefined when invalid. */
function positiveInteger(query: URLSearchParams, name: string): number | null | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return null;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** The document read API. Open mode needs no token; auth arrives with its own issue. */
export function documentRoutes({ db }: ApiDependencies): RouteTable[] {
  const noDatabase = () => json(501, { error: 'this server runs with STORAGE=memory: there is no history to read' });
  return [
    {
      method: 'GET',
      pattern: '/api/documents/:name/history',
      async handler(request, params) {
        if (!db) return noDatabase();
        const query = new URLSearchParams(request.query);
        const limit = positiveInteger(query, 'limit');
        const before = positiveInteger(query, 'before');
        if (limit === undefined || (limit !== null && limit > HISTORY_MAX_LIMIT)) {
          return json(400, { error: `limit must be an integer from 1 to ${HISTORY_MAX_LIMIT}` });
        }
        if (before === undefined) return json(400, { error: 'before must be a positive integer (a position from a previous page)' });
        const name = params.name!;
        if (!(await findDocument(db, name))) return json(404, { error: `no document named ${JSON.stringify(name)}` });
        const entries = await listHistory(db, name, { limit: limit ?? undefined, before: before ?? undefined });
        return json(200, {
          document: name,
          entries,
          // Cursor for the next (older) page, absent on the last one.
          nextBefore: entries.length > 0 && entries.length === (limit ?? 100) ? entries[entries.length - 1]!.position : null,
        });
      },
    },
  ];
}
