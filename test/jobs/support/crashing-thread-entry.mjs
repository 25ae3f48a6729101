// Entry of the crashing job thread of runner-takeover.test.ts (tsx registered first, as in
// src/shared/thread-entry.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./crashing-thread.ts');
