import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The built console is committed (dist/) and embedded in the orbit binary, and CI checks
// that it matches a fresh build: keep the output deterministic (content-hashed names
// under assets/, no source maps, nothing that depends on the time or the machine).
const server = "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    assetsDir: "assets",
    target: "es2020",
    chunkSizeWarningLimit: 1600,
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
        manualChunks(id) {
          if (!id.includes("node_modules")) return undefined;
          // Charts and the journey canvas are large and used by a few pages: their own
          // chunks, loaded with the lazily imported pages that need them.
          if (/node_modules\/(echarts|zrender)\//.test(id)) return "charts";
          if (/node_modules\/(@xyflow|d3-[a-z]+|classcat|zustand)\//.test(id)) return "canvas";
          if (/node_modules\/(react|react-dom|scheduler|react-router|cookie|set-cookie-parser)\//.test(id)) {
            return "react";
          }
          return "vendor";
        },
      },
    },
  },
  server: {
    proxy: {
      "/v1": { target: server, changeOrigin: false },
      "/openapi.json": { target: server, changeOrigin: false },
    },
  },
});
