// docs/API.md lists every public name with its declaration and documentation; it is generated
// (npm run docs) and must match the sources, like the generated codec.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { API_DOCS, apiDocs } from '../../tools/gen-api-docs.ts';

describe('API reference', () => {
  it('docs/API.md is what npm run docs generates from the sources now', { timeout: 120_000 }, () => {
    const committed = readFileSync(API_DOCS, 'utf8');
    const fresh = apiDocs();
    assert.ok(fresh === committed, 'docs/API.md is stale: run npm run docs');
    for (const name of ['Writer', 'Reader', 'MultiWriter', 'MultiReader', 'Client', 'FakeCluster', 'WriterMessage', 'HealthConfig']) {
      assert.match(committed, new RegExp(`^### \`${name}\`$`, 'm'), name);
    }
  });
});
