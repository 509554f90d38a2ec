// The IANA time zones the browser knows (Intl.supportedValuesOf), for choosing one's zone.

/** Every zone the browser names, sorted, with `current` kept even when the browser does not list it (e.g. "UTC"). */
export function timeZones(current: string): string[] {
  const known = Intl.supportedValuesOf("timeZone");
  return known.includes(current) ? known : [...known, current].sort();
}
