// Words for the service's codes (statuses, history events, decline reasons), in the user's language; a code
// the app does not know yet is shown as it is rather than hidden.
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";

import { en } from "../../i18n/en";

function known<T extends object>(keys: T, key: string): key is Extract<keyof T, string> {
  return Object.hasOwn(keys, key);
}

export function statusLabel(status: string, t: TFunction): string {
  return known(en.status, status) ? t(`status.${status}`) : status;
}

export function eventLabel(kind: string, t: TFunction): string {
  return known(en.events, kind) ? t(`events.${kind}`) : kind;
}

/** A domain's reason code: our words for the usual ones, else the code made readable ("needs_referral"). */
export function reasonCodeLabel(code: string, t: TFunction): string {
  return known(en.reasonCodes, code) ? t(`reasonCodes.${code}`) : code.replace(/[_-]+/g, " ");
}

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  const { t } = useTranslation();
  return (
    <span className={`status status-${status}`} data-testid={testId}>
      {statusLabel(status, t)}
    </span>
  );
}
