#!/usr/bin/env node
import('../dist/entry.js').then((m) => m.main(process.argv.slice(2)));
