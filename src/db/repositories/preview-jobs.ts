import type { PreviewJobInput } from '../../domain/preview-job.js';
import type { Db } from '../connect.js';
import type { PreviewJobRow } from '../schema.js';

export type RecordPreviewResult =
  | { outcome: 'created' | 'updated' | 'unchanged'; job: PreviewJobRow }
  | { outcome: 'conflict'; job: PreviewJobRow; message: string }
  | { outcome: 'refused'; message: string };

/** The object a job will point to once merged with what is recorded. */
export type PreviewObject = Pick<PreviewJobRow, 'bucket' | 'path' | 'content_type'>;

/** Says why the caller may not record a job pointing to `object`, or null when it may. */
export type PreviewObjectCheck = (object: PreviewObject) => string | null;

/**
 * Records the generator's hand-off. A job moves rendering → ready | failed (and a failed one
 * may be rendered again); anything that rewrites a ready job's object is a conflict. A
 * `bucket`, `path` or `content_type` left out of a later post keeps what is recorded, except
 * when a failed job is rendered again, which starts afresh. `bucket` is `defaultBucket`
 * unless a post names one. `check` judges the job as it would be stored, merged fields
 * included, inside the transaction: a post that leaves `path` out cannot inherit an object
 * its caller may not name.
 */
export async function recordPreviewJob(
  db: Db,
  input: PreviewJobInput,
  defaultBucket: string,
  check: PreviewObjectCheck = () => null,
): Promise<RecordPreviewResult> {
  const given = {
    shop_id: input.shop_id,
    personalization_id: input.personalization_id,
    job_id: input.job_id,
    status: input.status,
  };
  const fields = (kept: PreviewObject | undefined): PreviewObject => ({
    bucket: input.bucket ?? kept?.bucket ?? defaultBucket,
    path: input.path ?? kept?.path ?? null,
    content_type: input.content_type ?? kept?.content_type ?? null,
  });
  return db.transaction().execute(async (trx): Promise<RecordPreviewResult> => {
    const refusedAsSent = check(fields(undefined));
    if (refusedAsSent) return { outcome: 'refused', message: refusedAsSent };
    const inserted = await trx
      .insertInto('preview_jobs')
      .values({ ...given, ...fields(undefined) })
      .onConflict((oc) => oc.columns(['shop_id', 'personalization_id']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { outcome: 'created', job: inserted };

    const current = await trx
      .selectFrom('preview_jobs')
      .selectAll()
      .where('shop_id', '=', input.shop_id)
      .where('personalization_id', '=', input.personalization_id)
      .forUpdate()
      .executeTakeFirstOrThrow();

    const renderedAgain = current.status === 'failed' && input.status === 'rendering';
    const next = { ...given, ...fields(renderedAgain ? undefined : current) };
    const refused = check(next);
    if (refused) return { outcome: 'refused', message: refused };
    const conflict = previewConflict(current, next);
    if (conflict) return { outcome: 'conflict', job: current, message: conflict };
    if (
      current.status === next.status &&
      current.bucket === next.bucket &&
      current.path === next.path &&
      current.content_type === next.content_type
    ) {
      return { outcome: 'unchanged', job: current };
    }
    const job = await trx
      .updateTable('preview_jobs')
      .set({ ...next, updated_at: new Date() })
      .where('shop_id', '=', input.shop_id)
      .where('personalization_id', '=', input.personalization_id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { outcome: 'updated', job };
  });
}

function previewConflict(
  current: PreviewJobRow,
  next: Pick<PreviewJobRow, 'job_id' | 'status' | 'bucket' | 'path' | 'content_type'>,
): string | null {
  if (current.job_id !== next.job_id) {
    return `personalization is recorded with job ${current.job_id}, not ${next.job_id}`;
  }
  if (current.status !== 'ready') return null;
  if (next.status !== 'ready') return `job ${current.job_id} is already ready and cannot become ${next.status}`;
  if (current.bucket !== next.bucket || current.path !== next.path) {
    return `job ${current.job_id} is already ready with another object`;
  }
  // A type may be declared late; only declaring another one contradicts the recorded one.
  if (current.content_type !== null && current.content_type !== next.content_type) {
    return `job ${current.job_id} is already ready as ${current.content_type}, not ${next.content_type}`;
  }
  return null;
}

export type PreviewLookup = { kind: 'found'; job: PreviewJobRow } | { kind: 'other_shop' } | { kind: 'none' };

/** A personalization_id recorded only for other shops is told apart from an unknown one. */
export async function lookupPreviewJob(db: Db, shopId: string, personalizationId: string): Promise<PreviewLookup> {
  const jobs = await db.selectFrom('preview_jobs').selectAll().where('personalization_id', '=', personalizationId).execute();
  const own = jobs.find((job) => job.shop_id === shopId);
  if (own) return { kind: 'found', job: own };
  return jobs.length > 0 ? { kind: 'other_shop' } : { kind: 'none' };
}
