import { FulfillmentError } from '../domain/errors.js';
import { INCOMPLETE_IMAGE } from '../storage/inspect/image-sniff.js';
import type { ObjectInspection, ObjectStat } from '../storage/object-storage.js';
import type { PreviewRef, VerifiedPreview } from './types.js';

/**
 * Proves the preview is a real, non-empty image of the declared type, from what one streamed
 * pass learnt of its bytes (`inspection`) and what storage said of it before (`stat`).
 */
export function verifyPreview(preview: PreviewRef, stat: ObjectStat, inspection: ObjectInspection): VerifiedPreview {
  const where = `${preview.bucket}/${preview.path}`;
  if (inspection.size_bytes === 0) throw new FulfillmentError('asset_invalid', `${where} is empty`, { size_bytes: 0 });
  const { image } = inspection;
  if (!image) throw new FulfillmentError('asset_invalid', `${where} is not a PNG, JPEG or WebP image`);
  if (inspection.truncated) {
    const why = INCOMPLETE_IMAGE[image.content_type];
    throw new FulfillmentError('asset_invalid', `${where} is not a complete ${image.content_type}: ${why} (cut short?)`, {
      size_bytes: inspection.size_bytes,
    });
  }

  const declared = preview.content_type ?? stored(stat.content_type);
  if (declared && declared !== image.content_type) {
    throw new FulfillmentError('asset_invalid', `${where} is declared ${declared} but its bytes are ${image.content_type}`, {
      declared,
      actual: image.content_type,
    });
  }
  return { ...preview, ...image, sha256: inspection.sha256, size_bytes: inspection.size_bytes };
}

/** Storage metadata counts only when it names an image type; generic types say nothing. */
const stored = (contentType: string | null): string | null =>
  contentType?.startsWith('image/') ? contentType.replace(/;.*/s, '').trim() : null;
