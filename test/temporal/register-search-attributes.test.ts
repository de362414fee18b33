import { randomBytes } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { StartupError } from '../../src/entry/startup-error.js';
import { registerSearchAttributes } from '../../src/temporal/register-search-attributes.js';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';
import { Teardown } from '../support/teardown.js';

const { IndexedValueType } = proto.temporal.api.enums.v1;

let connection: Connection;
const teardown = new Teardown();

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  teardown.defer(() => connection.close());
});
afterAll(() => teardown.run());

/** A namespace of its own, holding the given search attributes already. */
async function namespaceWith(searchAttributes: Record<string, number>): Promise<string> {
  const namespace = `sa-${randomBytes(4).toString('hex')}`;
  await connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: proto.google.protobuf.Duration.fromObject({ seconds: 86_400 }),
  });
  if (Object.keys(searchAttributes).length > 0) await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  return namespace;
}

async function customAttributes(namespace: string) {
  return (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes;
}

it('adds every missing attribute as a Keyword, beside one that exists, and again changes nothing', async () => {
  const namespace = await namespaceWith({ OrderId: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD });
  await registerSearchAttributes(connection, namespace);
  await registerSearchAttributes(connection, namespace);
  const attributes = await customAttributes(namespace);
  for (const { name } of SEARCH_ATTRIBUTES) expect(attributes[name], name).toBe(IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
});

it('refuses to start on one that exists as another type, naming it and its type', async () => {
  const namespace = await namespaceWith({ ShopId: IndexedValueType.INDEXED_VALUE_TYPE_TEXT });
  const refused = registerSearchAttributes(connection, namespace);
  await expect(refused).rejects.toThrow(StartupError);
  await expect(refused).rejects.toThrow(`namespace ${namespace} must be Keyword, but exist as another type: ShopId (TEXT)`);
  expect(Object.keys(await customAttributes(namespace))).toEqual(['ShopId']);
});

/** A connection whose operator service fails every call as a server would, with `code`. */
function refusingConnection(code: grpc.status): Connection {
  const refuse = () =>
    Promise.reject(Object.assign(new Error(`${code} refused`), { code, details: 'refused', metadata: new grpc.Metadata() }));
  return { operatorService: { listSearchAttributes: refuse, addSearchAttributes: refuse } } as unknown as Connection;
}

it('answers false where the server will not let it manage them, and throws any other failure', async () => {
  for (const code of [grpc.status.PERMISSION_DENIED, grpc.status.UNIMPLEMENTED]) {
    await expect(registerSearchAttributes(refusingConnection(code), 'default')).resolves.toBe(false);
  }
  await expect(registerSearchAttributes(refusingConnection(grpc.status.UNAVAILABLE), 'default')).rejects.toMatchObject({
    code: grpc.status.UNAVAILABLE,
  });
  expect(await registerSearchAttributes(connection, await namespaceWith({}))).toBe(true);
});
