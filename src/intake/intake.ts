import type { RequestLog } from '../logging/request-log.js';
import type { ServiceDeps } from '../services/deps.js';
import { createOrderAdmission, type IntakeAnswer, type OrderSource } from './order-admission.js';
import { createOrderClosure, isClosureTopic } from './order-closure.js';
import { ORDER_TOPICS, parseOrderPayload } from './shopify.js';
import { createPrivacyRequests, isPrivacyTopic, type PrivacyAnswer } from './privacy-requests.js';

/** One Shopify webhook delivery, its body still the raw bytes Shopify signed. */
export interface Delivery extends OrderSource {
  topic: string;
  body: Buffer;
}

export interface IntakeDeps extends Pick<ServiceDeps, 'config' | 'db' | 'temporal' | 'telemetry' | 'temporalTimeoutMs'> {
  /** `PREVIEW_WAIT_SECONDS`, told to each line's run at its start. */
  previewWaitSeconds: number;
  /** Workflow starts in flight at once before deliveries wait for room (see `StartAdmission`). */
  startCapacity: number;
}

export type Intake = ReturnType<typeof createIntake>;

/**
 * The intake: what a Shopify webhook delivery starts, closes or records. An order is admitted
 * by `createOrderAdmission`, the path a reconciliation sweep feeds as well.
 */
export function createIntake({ config, db, temporal, telemetry, temporalTimeoutMs, previewWaitSeconds, startCapacity }: IntakeDeps) {
  const closure = createOrderClosure({ db, temporal, telemetry, temporalTimeoutMs });
  const privacy = createPrivacyRequests({ config, db, temporal, telemetry, temporalTimeoutMs });
  const { admitOrder, startAdmission } = createOrderAdmission({
    db,
    temporal,
    temporalTimeoutMs,
    closure,
    previewWaitSeconds,
    startCapacity,
  });

  /**
   * A webhook delivery: an order topic's body is read (ids above 2^53 kept) and admitted (an
   * order that arrives cancelled closes its lines), a cancellation or refund closes lines, a
   * privacy topic is recorded; other topics start nothing.
   */
  async function receiveDelivery(delivery: Delivery, log: RequestLog): Promise<IntakeAnswer | PrivacyAnswer> {
    log.bind({ shop_id: delivery.shop_id, webhook_id: delivery.webhook_id });
    if (isPrivacyTopic(delivery.topic)) return privacy.receive(delivery.topic, delivery.shop_id, delivery.body, delivery.received_at, log);
    if (isClosureTopic(delivery.topic)) {
      return { accepted: [], ignored: [], closed: await closure.receive(delivery.topic, delivery.shop_id, delivery.body, log) };
    }
    if (!ORDER_TOPICS.has(delivery.topic)) {
      log.logger.info({ topic: delivery.topic }, 'webhook topic ignored');
      return { accepted: [], ignored: [] };
    }
    const order = parseOrderPayload(delivery.body);
    log.bind({ order_id: order.order_id });
    return admitOrder(delivery, order, log);
  }

  return { receiveDelivery, startAdmission };
}
