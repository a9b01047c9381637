// Test runner configuration: tests live next to the code as *.test.ts. The global set-up fails a CI run
// whose corpus or build tests would skip, and otherwise says once why they skip.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'bench/**/*.test.ts'],
    globalSetup: ['src/test-support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
