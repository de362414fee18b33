import grpc from '@grpc/grpc-js';
import type { Connection } from '@temporalio/client';
import { isGrpcServiceError } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

/**
 * Registers the contract's search attributes on a cluster where they are missing. A name that
 * is already registered answers ALREADY_EXISTS, which is success. (Temporal Cloud registers
 * them per namespace in its console or with tcld instead.)
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const searchAttributes = Object.fromEntries(SEARCH_ATTRIBUTES.map((key) => [key.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]));
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (error) {
    if (isGrpcServiceError(error) && error.code === grpc.status.ALREADY_EXISTS) return;
    throw error;
  }
}
