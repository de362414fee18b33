import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { parse } from 'yaml';

const root = path.resolve(import.meta.dirname, '../..');

/** Services published on every interface, on purpose: what Shopify and print suppliers reach. */
const PUBLIC = new Set(['api']);

type Port = string | { host_ip?: string; published?: string | number; target?: number };

interface Service {
  ports?: Port[];
}

/** `[host_ip:][published:]target[/protocol]`, or the long form; variables are kept as written. */
function hostIp(port: Port): string | undefined {
  if (typeof port !== 'string') return port.host_ip;
  const parts = port.replace(/\/(tcp|udp)$/, '').split(/:(?![^{]*\})/);
  return parts.length === 3 ? parts[0] : undefined;
}

it('publishes only the API on every interface; everything else (Postgres, the Temporal UI) on 127.0.0.1', async () => {
  const compose = parse(await readFile(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };
  const published = Object.entries(compose.services).flatMap(([name, service]) =>
    (service.ports ?? []).map((port) => ({ name, port: JSON.stringify(port), hostIp: hostIp(port) })),
  );
  expect(published.map(({ name }) => name)).toEqual(expect.arrayContaining(['postgres', 'temporal-ui', 'api']));
  const open = published.filter(({ name, hostIp }) => !PUBLIC.has(name) && hostIp !== '127.0.0.1');
  expect(open).toEqual([]);
});
