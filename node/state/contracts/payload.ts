/**
 * The payload rules a schema cannot say (shapes and limits are in `node/schemas/contract.ts`,
 * checked first): dates that exist, line-item codes unique in their list, an end after the start.
 * Each throws `TX_PAYLOAD_INVALID` with the path of the problem.
 */
import type { JsonObject } from '../../protocol/canonical.ts';
import { parseDate } from './calendar.ts';
import { invalid } from './records.ts';

export function date(value: unknown, path: string): number {
  const day = parseDate(value);
  if (day === undefined) throw invalid(`${path} must be a date YYYY-MM-DD`, path);
  return day;
}

/** Line items (shape already checked): unique codes, `until` a real date after `start`. */
export function checkItemRules(items: readonly JsonObject[], start: number | undefined, path: string): void {
  const codes = new Set<unknown>();
  items.forEach((item, i) => {
    const at = `${path}[${i}]`;
    if (codes.has(item.code)) throw invalid(`${at}.code: ${String(item.code)} twice`, at);
    codes.add(item.code);
    if (item.until !== undefined) {
      const day = date(item.until, `${at}.until`);
      if (start !== undefined && day <= start) throw invalid(`${at}.until must be after the start date`, at);
    }
  });
}
