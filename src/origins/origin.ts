/** Identifies one version of an original; changes whenever the bytes change. */
export interface SourceVersion {
  /** Opaque version token (file size + mtime, or the S3 ETag). */
  tag: string
  lastModified: Date
  size: number
}

export interface Source {
  bytes: Buffer
  version: SourceVersion
}

export interface OriginRequest {
  /** Originals larger than this are refused with SOURCE_TOO_LARGE, without reading them whole. */
  maxBytes: number
  signal?: AbortSignal
  requestId?: string
}

/**
 * Where originals live. Keys are `<tenant>/<domain>/<bucket>/<imageId>` (SPEC §7).
 * Implementations translate their failures into DeliveryErrors: a missing key is
 * IMAGE_NOT_FOUND, an unreachable store UPSTREAM_ERROR or UPSTREAM_TIMEOUT.
 */
export interface Origin {
  /** The current version of an original, without reading its bytes. */
  stat: (key: string, request: OriginRequest) => Promise<SourceVersion>
  get: (key: string, request: OriginRequest) => Promise<Source>
}

export function originKey (bucket: { tenant: string, domain: string, bucket: string }, imageId: string): string {
  return `${bucket.tenant}/${bucket.domain}/${bucket.bucket}/${imageId}`
}
