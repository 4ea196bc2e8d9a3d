// Acceptance: the official Qdrant JavaScript client (@qdrant/js-client-rest), unmodified, against
// mock-vector: create, upsert (integer and UUID ids, payloads), search with filter, query, count,
// scroll, delete, and the errors a client sees. Expected scores are computed here.
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.QDRANT_URL;
assert.ok(url, 'QDRANT_URL is not set');
const warnings = [];
const originalWarn = console.warn;
console.warn = (...args) => { warnings.push(args.join(' ')); originalWarn(...args); };

const client = new QdrantClient({ url, checkCompatibility: true });
const name = 'envtest_docs';
let planned = 0;
let failed = 0;
const tests = [];
const test = (title, fn) => tests.push([title, fn]);

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cosine = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0) / (norm(a) * norm(b));
const close = (a, b, what) => assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a} != ${b}`);

const uuidUpper = '5C56C793-69F3-4FBF-87E6-C4BF54C28C26';
const uuid = uuidUpper.toLowerCase();
const points = [
  { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { city: 'Seoul', kind: 'policy', year: 2021 } },
  { id: 2, vector: [1, 0, 0, 0], payload: { city: 'Busan', kind: 'table', year: 2019 } },
  { id: 3, vector: [0.2, 0.1, 0.9, 0.3], payload: { city: 'Seoul', kind: 'table', year: 2023 } },
  { id: uuidUpper, vector: [0.3, 0.3, 0.3, 0.3], payload: { city: 'Seoul', kind: 'policy', year: 2024, tags: ['startup', 'support'] } },
];
const query = [0.25, 0.2, 0.8, 0.3];

test('version check passes without a warning', async () => {
  const info = await client.versionInfo();
  assert.equal(info.title, 'qdrant - vector search engine');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(warnings.filter((w) => w.includes('version')), []);
});

test('create collection, exists, list, info', async () => {
  await client.deleteCollection(name);
  assert.equal(await client.createCollection(name, { vectors: { size: 4, distance: 'Cosine' } }), true);
  assert.deepEqual(await client.collectionExists(name), { exists: true });
  const { collections } = await client.getCollections();
  assert.ok(collections.some((c) => c.name === name));
  const info = await client.getCollection(name);
  assert.equal(info.status, 'green');
  assert.equal(info.points_count, 0);
  assert.deepEqual(info.config.params.vectors, { size: 4, distance: 'Cosine' });
});

test('creating it again is a 409', async () => {
  await assert.rejects(client.createCollection(name, { vectors: { size: 4, distance: 'Cosine' } }),
    (e) => e.status === 409 && /already exists/.test(JSON.stringify(e.data)));
});

test('upsert integer and UUID ids with payloads', async () => {
  const res = await client.upsert(name, { wait: true, points });
  assert.equal(res.status, 'completed');
  assert.equal(typeof res.operation_id, 'number');
  const batch = await client.upsert(name, {
    wait: true,
    batch: { ids: [10, 11], vectors: [[0, 0, 1, 0], [0, 1, 0, 0]], payloads: [{ city: 'Daegu' }, { city: 'Incheon' }] },
  });
  assert.equal(batch.status, 'completed');
  assert.equal((await client.getCollection(name)).points_count, 6);
});

test('retrieve normalises the UUID and returns the stored (normalised) vector', async () => {
  const got = await client.retrieve(name, { ids: [uuid, 1], with_vector: true });
  assert.equal(got.length, 2);
  const p = got.find((x) => x.id === uuid);
  assert.ok(p, `UUID point missing: ${JSON.stringify(got)}`);
  assert.deepEqual(p.payload.tags, ['startup', 'support']);
  close(p.vector[0], 0.5, 'normalised component');
});

test('search with a filter: scores and order as computed here', async () => {
  const filter = { must: [{ key: 'city', match: { value: 'Seoul' } }], must_not: [{ key: 'year', range: { lt: 2022 } }] };
  const hits = await client.search(name, { vector: query, limit: 10, filter, with_payload: true });
  const expected = points
    .filter((p) => p.payload.city === 'Seoul' && p.payload.year >= 2022)
    .map((p) => ({ id: typeof p.id === 'string' ? p.id.toLowerCase() : p.id, score: cosine(p.vector, query) }))
    .sort((a, b) => b.score - a.score);
  assert.deepEqual(hits.map((h) => h.id), expected.map((e) => e.id));
  hits.forEach((h, i) => close(h.score, expected[i].score, `score of ${h.id}`));
  assert.equal(hits[0].payload.city, 'Seoul');
});

test('search with match any and score_threshold', async () => {
  const hits = await client.search(name, {
    vector: query, limit: 10, score_threshold: 0.9,
    filter: { should: [{ key: 'kind', match: { any: ['policy', 'table'] } }] },
  });
  const expected = points.filter((p) => cosine(p.vector, query) >= 0.9).length;
  assert.equal(hits.length, expected);
  hits.forEach((h) => assert.ok(h.score >= 0.9));
});

test('universal query: nearest vector with filter, and by point id', async () => {
  const res = await client.query(name, { query: query, limit: 2, filter: { must: [{ key: 'kind', match: { value: 'table' } }] }, with_payload: true });
  assert.deepEqual(res.points.map((p) => p.id), [3, 2]);
  close(res.points[0].score, cosine(points[2].vector, query), 'query score');
  const nearest = await client.query(name, { query: { nearest: [0, 0, 1, 0] }, limit: 1 });
  assert.equal(nearest.points[0].id, 10);
  const byId = await client.query(name, { query: 10, limit: 1 });
  assert.equal(byId.points[0].id, 3);
});

test('count, scroll', async () => {
  assert.deepEqual(await client.count(name, { exact: true }), { count: 6 });
  assert.deepEqual(await client.count(name, { filter: { must: [{ key: 'city', match: { value: 'Seoul' } }] } }), { count: 3 });
  const page = await client.scroll(name, { limit: 4 });
  assert.deepEqual(page.points.map((p) => p.id), [1, 2, 3, 10]);
  assert.equal(page.next_page_offset, 11);
});

test('delete by ids and by filter, counts after', async () => {
  const res = await client.delete(name, { wait: true, points: [2, uuid] });
  assert.equal(res.status, 'completed');
  assert.deepEqual(await client.count(name), { count: 4 });
  await client.delete(name, { wait: true, filter: { must: [{ key: 'city', match: { any: ['Daegu', 'Incheon'] } }] } });
  assert.deepEqual(await client.count(name), { count: 2 });
  assert.deepEqual((await client.retrieve(name, { ids: [2, 1] })).map((p) => p.id), [1]);
});

test('errors: wrong dimension is a 400, missing collection a 404', async () => {
  await assert.rejects(client.search(name, { vector: [1, 2, 3], limit: 1 }),
    (e) => e.status === 400 && /Vector dimension error: expected dim: 4, got 3/.test(JSON.stringify(e.data)));
  await assert.rejects(client.getCollection('no_such_collection'),
    (e) => e.status === 404 && /Collection `no_such_collection` doesn't exist!/.test(JSON.stringify(e.data)));
});

test('delete collection', async () => {
  assert.equal(await client.deleteCollection(name), true);
  assert.deepEqual(await client.collectionExists(name), { exists: false });
});

console.log(`1..${tests.length}`);
for (const [title, fn] of tests) {
  planned++;
  try {
    await fn();
    console.log(`ok ${planned} - ${title}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${planned} - ${title}`);
    for (const line of String(e && e.stack || e).split('\n')) console.log(`# ${line}`);
    if (e && e.data) console.log(`# response: ${JSON.stringify(e.data)}`);
  }
}
process.exit(failed ? 1 : 0);
