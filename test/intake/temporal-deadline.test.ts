import { status as grpcStatus } from '@grpc/grpc-js';
import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { isTemporalUnavailable, TemporalTimeoutError } from '../../src/intake/temporal-deadline.js';

describe('isTemporalUnavailable', () => {
  const grpcError = (code: number) => Object.assign(new Error(`${code}`), { code, details: '', metadata: {} });
  it('recognises the client’s connection failures and nothing else', () => {
    expect(isTemporalUnavailable(grpcError(grpcStatus.UNAVAILABLE))).toBe(true);
    expect(isTemporalUnavailable(grpcError(grpcStatus.DEADLINE_EXCEEDED))).toBe(true);
    expect(isTemporalUnavailable(new ServiceError('Failed to start', { cause: grpcError(grpcStatus.UNAVAILABLE) }))).toBe(true);
    expect(isTemporalUnavailable(new TemporalTimeoutError('slow'))).toBe(true);
    expect(isTemporalUnavailable(grpcError(grpcStatus.INVALID_ARGUMENT))).toBe(false);
    expect(isTemporalUnavailable(new ServiceError('bad', { cause: grpcError(grpcStatus.PERMISSION_DENIED) }))).toBe(false);
    expect(isTemporalUnavailable(new Error('boom'))).toBe(false);
  });
});
