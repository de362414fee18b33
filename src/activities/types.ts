import type { ImageContentType } from '../storage/object-storage.js';

/** The stored preview a personalization_id resolved to: a reference, never bytes. */
export interface PreviewRef {
  job_id: string;
  bucket: string;
  path: string;
  /** What the generator declared; the bytes must agree. */
  content_type: ImageContentType | null;
}

export type PreviewResolution =
  | { state: 'ready'; preview: PreviewRef }
  | { state: 'rendering'; job_id: string; wait_seconds: number };

export interface VerifiedPreview extends PreviewRef {
  sha256: string;
  size_bytes: number;
  content_type: ImageContentType;
  width: number;
  height: number;
}

/**
 * When an activity's write changed the line's row (its `updated_at`; null when it left the
 * row alone), so the workflow's `status` query shows the same time as the HTTP route.
 */
export interface LineRecorded {
  line_updated_at: string | null;
}
