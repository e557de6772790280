// Accept headers real browsers send for an <img> (unless said otherwise), with the class the CDN
// layers must put them in. Shared by the CloudFront Function test and the Varnish test, so both
// normalisations are held to one table.
import type { AcceptClass } from '../../src/transform/negotiate-format.ts'

export interface Browser { name: string, accept: string | undefined, expected: AcceptClass }

export const BROWSERS: Browser[] = [
  { name: 'Chrome 131', accept: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', expected: 'avif' },
  { name: 'Chrome 131, image opened in a tab', accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7', expected: 'avif' },
  { name: 'Edge 131', accept: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', expected: 'avif' },
  { name: 'Firefox 133', accept: 'image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5', expected: 'avif' },
  { name: 'Firefox 115 ESR', accept: 'image/avif,image/webp,*/*', expected: 'avif' },
  { name: 'Safari 17', accept: 'image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5', expected: 'avif' },
  { name: 'Safari 15', accept: 'image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5', expected: 'webp' },
  { name: 'Android 4.4 WebView', accept: 'image/webp,*/*;q=0.8', expected: 'webp' },
  { name: 'Edge 18 (EdgeHTML)', accept: 'image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5', expected: 'other' },
  { name: 'curl', accept: '*/*', expected: 'other' },
  { name: 'no Accept', accept: undefined, expected: 'other' },
  // q=0 means "not acceptable" (RFC 9110 §12.4.2): such a client must not be cached with AVIF users.
  { name: 'AVIF refused with q=0', accept: 'image/avif;q=0,image/webp,*/*', expected: 'webp' },
  { name: 'both refused, odd spacing and case', accept: 'Image/AVIF ; q=0.0 , image/webp;q=0, */*', expected: 'other' }
]

/** The value both layers rewrite `Accept` to, per class (the service negotiates from it). */
export const CANONICAL_ACCEPT: Record<AcceptClass, string> = {
  avif: 'image/avif,image/webp,*/*',
  webp: 'image/webp,*/*',
  other: '*/*'
}
