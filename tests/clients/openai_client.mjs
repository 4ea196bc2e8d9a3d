// The official OpenAI node client (package `openai`) against mock-llm, unmodified: chat, streaming,
// embeddings (the client asks for base64 by default), errors, retries on 429, a cut stream.
// Usage: node openai_client.mjs /path/to/mock-llm   (run.sh installs the package first)
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = process.argv[2] || process.env.MOCK_LLM_BIN;
const dir = mkdtempSync(join(tmpdir(), 'envtest-openai-'));
const cassette = {
  rules: [
    { name: 'hello', match: { user: 'hello' }, reply: 'Hello! How can I help?' },
    { name: 'story', match: { user: { contains: 'story' } },
      reply: 'Once upon a time, in Seoul, a small startup found its first customer.' },
    { name: 'boom', match: { user: 'boom' },
      error: { status: 503, message: 'engine overloaded', code: 'overloaded' } },
  ],
  default: { error: { status: 404, message: 'no cassette rule matches' } },
};
writeFileSync(join(dir, 'cassette.json'), JSON.stringify(cassette));
const child = spawn(bin, ['--host', '127.0.0.1', '--port', '0', '--port-file', join(dir, 'port'),
  '--cassette', join(dir, 'cassette.json'), '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });

let port = 0;
for (let i = 0; i < 500 && !port; i++) {
  if (existsSync(join(dir, 'port'))) port = parseInt(readFileSync(join(dir, 'port'), 'utf8'), 10);
  else await new Promise((r) => setTimeout(r, 10));
}
assert.ok(port > 0, 'mock-llm did not start');
const base = `http://127.0.0.1:${port}`;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
const admin = (method, path, body) =>
  fetch(base + path, { method, body: body && JSON.stringify(body) }).then((r) => r.json());

let n = 0, failed = 0;
async function test(name, fn) {
  n++;
  try {
    await fn();
    console.log(`ok ${n} - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${n} - ${name}\n  # ${String(e.stack || e).split('\n').join('\n  # ')}`);
  } finally {
    await admin('POST', '/__admin/reset');
  }
}

await test('models.list', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes('gpt-4o-mini'), ids.join(','));
});

await test('chat.completions.create', async () => {
  const c = await client.chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }],
  });
  assert.equal(c.object, 'chat.completion');
  assert.equal(c.choices[0].message.content, 'Hello! How can I help?');
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
});

await test('chat streaming with include_usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'tell me a story' }],
  });
  let text = '', finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      text += ch.delta?.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.equal(text, cassette.rules[1].reply);
  assert.equal(finish, 'stop');
  assert.ok(chunks > 5);
  assert.ok(usage && usage.completion_tokens > 0);
});

await test('chat.completions.stream helper: finalChatCompletion', async () => {
  const runner = client.chat.completions.stream({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }],
  });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, 'Hello! How can I help?');
});

await test('embeddings (base64 by default, float, dimensions)', async () => {
  const e = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['스타트업 지원 정책', 'hello'] });
  assert.equal(e.data.length, 2);
  assert.equal(e.data[0].embedding.length, 384);
  const norm = Math.sqrt(e.data[0].embedding.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
  const f = await client.embeddings.create({ model: 'text-embedding-3-small', input: '스타트업 지원 정책', encoding_format: 'float' });
  for (let i = 0; i < 384; i++) assert.ok(Math.abs(f.data[0].embedding[i] - e.data[0].embedding[i]) < 1e-6);
  const d = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x', dimensions: 64 });
  assert.equal(d.data[0].embedding.length, 64);
});

await test('rule error -> APIError 503 with code', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'boom' }] }),
    (e) => e instanceof OpenAI.InternalServerError && e.status === 503 && e.code === 'overloaded' &&
      e.message.includes('engine overloaded'));
});

await test('bad request -> BadRequestError naming the param', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ content: 'no role' }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages[0].role');
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'unknown' }] }),
    (e) => e instanceof OpenAI.NotFoundError);
});

await test('429 with Retry-After is retried by the client', async () => {
  await admin('PUT', '/__admin/faults', { type: 'status', status: 429, retry_after: 0, times: 1 });
  const retrying = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-test', maxRetries: 2 });
  const c = await retrying.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
  assert.equal(c.choices[0].message.content, 'Hello! How can I help?');
  const j = await admin('GET', '/__admin/requests');
  assert.deepEqual(j.requests.map((r) => r.status), [429, 200]);
  await assert.rejects(
    (async () => {
      await admin('PUT', '/__admin/faults', { type: 'status', status: 429, retry_after: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    })(),
    (e) => e instanceof OpenAI.RateLimitError);
});

await test('stream cut mid-way -> the iteration throws', async () => {
  await admin('PUT', '/__admin/faults', { type: 'stream_disconnect', after_chunks: 3 });
  await assert.rejects(async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'tell me a story' }],
    });
    for await (const _ of stream) { /* drain */ }
  });
});

console.log(`1..${n}`);
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
