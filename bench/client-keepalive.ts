/**
 * list+get throughput of the Node client over ONE keep-alive Agent versus a new connection per request,
 * side by side in one run, against the local Skaha-compatible server on loopback (HTTP, and HTTPS with a
 * throwaway CA when openssl is available: there every new connection also costs a TLS handshake).
 *
 *   npm run bench:client -- [--requests N] [--concurrency C]
 *
 * Figures only; nothing is asserted. Loopback hides network latency, so on a real network (CANFAR is
 * tens of ms away) the gap is larger than printed here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SkahaClient, type Transport } from '../src/skaha';
import { startLocalServer } from '../src/node/local';
import { createNodeTransport, type NodeTransportOptions } from '../src/node/transport';
import { hasOpenssl, makePki } from '../test/helpers/pki';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '8' } },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);

/**
 * Each request on a connection of its own: `Connection: close` makes the pool drop the socket after the
 * answer, so every request pays TCP setup (and the TLS handshake, with session resumption as a real
 * client would have). Same transport, same secure context: the connection is the only difference.
 */
function connectionPerRequest(transport: Transport): Transport {
  return (request) => transport({ ...request, headers: { ...request.headers, connection: 'close' } });
}

async function measure(client: SkahaClient, ids: string[]): Promise<{ perSecond: number; ms: number }> {
  let next = 0;
  const start = process.hrtime.bigint();
  // Half the calls are list, half get: what a monitor does (one list per poll, then details).
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      if (i % 2 === 0) await client.list();
      else await client.get(ids[i % ids.length]);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { perSecond: (REQUESTS / ms) * 1000, ms };
}

async function scenario(label: string, tls: boolean): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'canfar-bench-'));
  const pki = tls ? makePki() : undefined;
  const server = await startLocalServer({
    stateDir,
    ...(pki ? { tls: { cert: pki.serverCert, key: pki.serverKey } } : {}),
  });
  const options: NodeTransportOptions = { token: server.token, ...(pki ? { ca: pki.ca } : {}) };
  const keepAlive = createNodeTransport(options);
  try {
    const seed = new SkahaClient({ baseUrl: server.apiUrl, transport: keepAlive });
    const ids: string[] = [];
    for (let i = 1; i <= 10; i++) {
      ids.push(
        await seed.create({
          name: `bench-${i}`,
          image: 'images.canfar.net/skaha/terminal:1.1.2',
          cmd: 'true',
        }),
      );
    }
    // Warm-up, so neither side pays for JIT or the first connection.
    await measure(seed, ids);
    const pooled = await measure(seed, ids);
    const fresh = await measure(
      new SkahaClient({ baseUrl: server.apiUrl, transport: connectionPerRequest(keepAlive) }),
      ids,
    );
    const row = (name: string, r: { perSecond: number; ms: number }) =>
      `  ${name.padEnd(28)} ${r.perSecond.toFixed(0).padStart(8)} req/s  ${(r.ms / REQUESTS).toFixed(3).padStart(8)} ms/req`;
    console.log(`${label}: ${REQUESTS} requests (list+get alternating), concurrency ${CONCURRENCY}`);
    console.log(row('keep-alive Agent (one pool)', pooled));
    console.log(row('new connection per request', fresh));
    console.log(`  ratio keep-alive / new connection: ${(pooled.perSecond / fresh.perSecond).toFixed(2)}x\n`);
  } finally {
    await keepAlive.close();
    await server.close();
    pki?.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, loopback, local Skaha-compatible server\n`);
  await scenario('HTTP', false);
  if (hasOpenssl()) await scenario('HTTPS', true);
  else console.log('HTTPS: skipped (openssl not found to make a throwaway CA)');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
