import { defineConfig } from 'vitest/config';

// Preact's automatic JSX runtime through esbuild (no Babel). The build has no inline scripts
// or styles, so it runs under the server's CSP (default-src 'self', no 'unsafe-inline').
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0, // no data: URLs (img-src 'self')
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.{ts,tsx}'],
  },
});
