#!/usr/bin/env node
import('../dist/cli.js').catch((err) => {
  process.stderr.write(`selfsup: cannot start (${err.message}). Was the package built? Run: npm run build\n`);
  process.exit(2);
});
