import { domainToUnicode } from 'node:url';

/**
 * A host name in Unicode (`xn--shop-bcher-geheim-72b.example` → `shop-bücher-geheim.example`),
 * lower-cased; the host itself when it is not an IDNA name (an IP, or not decodable).
 */
export function unicodeHost(host: string): string {
  const unicode = domainToUnicode(host);
  return (unicode === '' ? host : unicode).toLowerCase();
}
