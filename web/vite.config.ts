import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The web UI, built to web/dist and served by the API server at `/` (src/web-ui/).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // A CSP without 'unsafe-inline' must be able to serve every page: no inlined modulepreload polyfill.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    // `npx vite web` during development: the API runs on its own port (npm start).
    proxy: { '/api': 'http://127.0.0.1:8000' },
  },
});
