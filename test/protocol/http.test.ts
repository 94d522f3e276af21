import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';

/** A GET with the path sent exactly as given (fetch would normalise `..` segments). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, method: 'GET', agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe.each(TRANSPORTS)('HTTP on the WebSocket port over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('serves /healthz and /readyz with 200 JSON', async () => {
    const server = await startTestServer(transport);
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toMatch(/application\/json/);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('exposes Prometheus metrics, including connections and the update apply histogram', async () => {
    const server = await startTestServer(transport);
    // Make the histogram non-empty: one client applies one update.
    const client = await RawClient.connect(server.port);
    await client.join('metrics-doc');
    client.send(updateFrame('metrics-doc', textUpdate(client.doc('metrics-doc'), 'x')));
    await client.waitForFrame((f) => f.kind === 'syncStatus', 5_000, 'ack');

    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^# TYPE scriptorium_connections gauge$/m);
    expect(text).toMatch(/^scriptorium_connections [1-9]\d*$/m); // at least our client
    expect(text).toMatch(/^# TYPE scriptorium_update_apply_seconds histogram$/m);
    expect(text).toMatch(/^scriptorium_update_apply_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^scriptorium_update_apply_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
    // The write path: the acked update is committed, nothing is left pending.
    expect(text).toMatch(/^scriptorium_storage_committed_updates_total [1-9]\d*$/m);
    expect(text).toMatch(/^scriptorium_storage_commits_total [1-9]\d*$/m);
    expect(text).toMatch(/^scriptorium_storage_pending_updates 0$/m);
  });

  it('serves the static app at / as HTML', async () => {
    const server = await startTestServer(transport);
    const response = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect((await response.text()).toLowerCase()).toContain('<html');
  });

  it('answers an unknown /api path with 404 JSON', async () => {
    const server = await startTestServer(transport);
    const response = await fetch(`http://127.0.0.1:${server.port}/api/no-such-thing`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toHaveProperty('error');
  });

  it('refuses paths that escape the static directory', async () => {
    const server = await startTestServer(transport);
    const response = await rawGet(server.port, '/%2e%2e/%2e%2e/package.json');
    expect(response.status).toBe(403);
    expect(response.body).not.toContain('"dependencies"');
  });

  it.each(['/nope', '/y/', '/y', '/api/ws'])('refuses a WebSocket upgrade on %s', async (path) => {
    const server = await startTestServer(transport);
    await expect(RawClient.connect(server.port, path)).rejects.toThrow(/HTTP 404/);
    // The server is fine afterwards.
    const ok = await RawClient.connect(server.port, '/');
    await ok.join('after-refusal');
    expect(ok.isOpen).toBe(true);
  });
});
