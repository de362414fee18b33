import grpc from '@grpc/grpc-js';
import type { ConnectionLike } from '@temporalio/client';
import { isGrpcServiceError } from '@temporalio/client';
import proto from '@temporalio/proto';
import { StartupError } from '../entry/startup-error.js';
import type { Logger } from '../logging/logger.js';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

const { IndexedValueType } = proto.temporal.api.enums.v1;
/** The part of a connection this needs: the API's client connection or the worker's. */
type OperatorAccess = Pick<ConnectionLike, 'operatorService'>;
const KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

const typeName = (type: number): string => (IndexedValueType[type] ?? String(type)).replace('INDEXED_VALUE_TYPE_', '');

/**
 * How a server says this connection may not manage search attributes: Temporal Cloud (where
 * they are registered in its console or with tcld), or a self-hosted authorizer that keeps the
 * operator API to admins.
 */
const NOT_MANAGED_HERE: ReadonlySet<number> = new Set([grpc.status.PERMISSION_DENIED, grpc.status.UNIMPLEMENTED]);

/**
 * Makes sure the contract's search attributes exist in the namespace as Keywords, and answers
 * whether it could: false where the server does not let this connection manage them. Any other
 * failure throws, so a worker does not run on a namespace it could not check.
 */
export async function registerSearchAttributes(connection: OperatorAccess, namespace: string): Promise<boolean> {
  try {
    await ensureKeywords(connection, namespace);
    return true;
  } catch (error) {
    if (isGrpcServiceError(error) && NOT_MANAGED_HERE.has(error.code)) return false;
    throw error;
  }
}

/**
 * At the start of the API and of the worker, whichever comes first on a new namespace: a
 * webhook's start would fail on an attribute the namespace lacks. Where this connection may not
 * manage them, it says what the operator must make sure of.
 */
export async function ensureSearchAttributes(connection: OperatorAccess, namespace: string, logger: Logger): Promise<void> {
  if (!(await registerSearchAttributes(connection, namespace))) {
    logger.warn({ namespace }, 'this connection may not manage search attributes; make sure they exist in the namespace as Keywords');
  }
}

/**
 * Only the missing attributes are added, since a server may refuse a whole batch when one of
 * its names exists; ALREADY_EXISTS then means another worker added them first. One that exists
 * with another type would fail every workflow that sets it, so the worker refuses to start.
 */
async function ensureKeywords(connection: OperatorAccess, namespace: string): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = new Map(Object.entries(customAttributes));
  const mistyped = SEARCH_ATTRIBUTES.flatMap(({ name }) => {
    const type = existing.get(name);
    return type === undefined || type === KEYWORD ? [] : [`${name} (${typeName(type)})`];
  });
  if (mistyped.length > 0) {
    const found = mistyped.join(', ');
    throw new StartupError(
      `Search attributes of namespace ${namespace} must be Keyword, but exist as another type: ${found}. ` +
        'A search attribute cannot change type: use another namespace, or remove them and let the worker add them.',
    );
  }
  const missing = SEARCH_ATTRIBUTES.filter(({ name }) => !existing.has(name));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(({ name }) => [name, KEYWORD])),
    });
  } catch (error) {
    if (isGrpcServiceError(error) && error.code === grpc.status.ALREADY_EXISTS) return;
    throw error;
  }
}
