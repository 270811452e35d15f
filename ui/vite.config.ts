/// <reference types="vitest/config" />
// Vite builds the window into dist/ (Tauri embeds it); Vitest runs the unit tests in jsdom.
import { defineConfig } from "vite";

export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
  test: { environment: "jsdom", include: ["src/**/*.test.ts"] },
});
