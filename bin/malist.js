#!/usr/bin/env node
// The `malist` command. The sources are TypeScript, loaded through tsx's ESM hook, so the
// installed command always runs what is in src/ (no build step to forget).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
