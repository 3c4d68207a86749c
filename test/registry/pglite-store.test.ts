/** The store contract on PGlite, in memory (one initdb for the whole file). */
import { openPgliteStore } from '../../server/registry/index.ts';
import { defineStoreContract } from './store-contract.ts';

defineStoreContract('PGlite (in memory)', { open: () => openPgliteStore(undefined) });
