import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
// `vite` (dev) forwards the API to a running server; the socket goes to VITE_SOCKET_URL
// (e.g. ws://127.0.0.1:1234/), since the dev server itself answers `/`.
const backend = process.env.SCRIPTORIUM_URL ?? 'http://127.0.0.1:1234';

export default defineConfig({
  root,
  // public/ held the placeholder page the server served before the app existed.
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
    // The app, the paper editor and the tree editor are separate chunks (src/document/view-code.ts);
    // their gzip size is tracked in BENCHMARKS.md.
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      output: {
        // Tiptap and ProseMirror, shared by both editors, under a name that says so.
        codeSplitting: {
          groups: [
            {
              name: 'editor-core',
              includeDependenciesRecursively: false,
              test: /node_modules[\\/](@tiptap|prosemirror-|linkifyjs|orderedmap|rope-sequence|w3c-keyname)/,
            },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': backend,
      '/healthz': backend,
      '/readyz': backend,
    },
  },
});
