/** STORAGE=memory keeps no versions: the content is served, the version routes answer 501, editing is unaffected. */
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { closeServers, startTestServer } from '../helpers/servers.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { apiClient, type ErrorBody } from '../helpers/http.js';
import { acknowledged, path, writePaper } from '../helpers/versions.js';

afterAll(async () => {
  destroyProviders();
  await closeServers();
});

describe('versions with STORAGE=memory', () => {
  it('serves the content and answers 501 for versions', async () => {
    const server = await startTestServer('uws', { autoVersionQuietMs: 50 });
    const api = apiClient(() => server.port);
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, 'memory/paper', doc);
    writePaper(doc, ['In memory']);
    await acknowledged(provider);
    const content = await api<{ updatedAt: null; content: { text: string } }>('GET', path('memory/paper'));
    expect(content.status).toBe(200);
    expect(content.body.content.text).toBe('In memory');
    expect(content.body.updatedAt).toBeNull();
    const list = await api<ErrorBody>('GET', path('memory/paper', '/versions'));
    expect(list.status).toBe(501);
    expect(list.body.error).toMatch(/STORAGE=memory/);
    expect((await api<ErrorBody>('POST', path('memory/paper', '/versions'), { body: {} })).status).toBe(501);
    expect(server.versions).toBeNull();
  });
});
