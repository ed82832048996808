/**
 * UTC calendar arithmetic without the clock: protocol code receives time as epoch milliseconds and
 * must not construct Date objects (purity test). Civil-from-days after Howard Hinnant's algorithm.
 */

/** UTC calendar fields of an epoch-milliseconds time. */
export interface UtcParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** Splits epoch milliseconds into UTC calendar fields. */
export function utcParts(ms: number): UtcParts {
  const seconds = Math.floor(ms / 1000);
  const days = Math.floor(seconds / 86400);
  const secOfDay = seconds - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return {
    year: yoe + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day,
    hour: Math.floor(secOfDay / 3600),
    minute: Math.floor((secOfDay % 3600) / 60),
    second: secOfDay % 60,
  };
}

const pad = (v: number, n = 2) => String(v).padStart(n, "0");

/** ISO 8601 UTC with second precision, e.g. `2026-11-22T01:02:03Z`. */
export function isoTime(ms: number): string {
  const p = utcParts(ms);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}Z`;
}

/** Parses an ISO 8601 UTC time (`Z` or `+00:00`, optional fraction) to epoch milliseconds, or null. */
export function parseIsoTime(text: string): number | null {
  const m = text.match(/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|\+00:?00)?$/);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  const ms = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s) + Math.round(Number(m[7] ?? 0) * 1000);
  const back = utcParts(ms);
  if (back.year !== y || back.month !== mo || back.day !== d) return null;
  return ms;
}
