import type { ImageContentType } from '../domain/images.js';

/** The stored preview a personalization_id resolved to: a reference, never bytes. */
export interface PreviewRef {
  job_id: string;
  bucket: string;
  path: string;
  /** What the generator declared; the bytes must agree. */
  content_type: ImageContentType | null;
}

export type PreviewResolution = { state: 'ready'; preview: PreviewRef } | { state: 'rendering'; job_id: string };

export interface VerifiedPreview extends PreviewRef {
  sha256: string;
  size_bytes: number;
  content_type: ImageContentType;
  width: number;
  height: number;
}

/**
 * When an activity's write changed the line's row (its `updated_at`; null when it left the
 * row alone). Kept because the contract has the `status` query answer the same object as the
 * HTTP route, `updated_at` included: a client reading both must not see two times for one change.
 */
export interface LineRecorded {
  line_updated_at: string | null;
}
