import { z } from 'zod';

/** The image types a preview may be and a print asset is: what the storage inspection can sniff. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;
export const imageContentTypeSchema = z.enum(IMAGE_TYPES);
export type ImageContentType = z.infer<typeof imageContentTypeSchema>;

/** The file name extension an image type is stored and downloaded under. */
export const IMAGE_EXTENSIONS: Record<ImageContentType, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
};
