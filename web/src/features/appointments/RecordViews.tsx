// Read-only views of an appointment's record: the answers to the domain's questions, and its history.
import { useTranslation } from "react-i18next";

import { useFormat } from "../../i18n/format";
import type { HistoryEntry } from "./api";
import { eventLabel, reasonCodeLabel } from "./labels";

interface FieldSchema {
  title?: string;
}

/** The answers, each under its question's title from the domain's form (else its field name). */
export function AnswersList({
  schema,
  answers,
}: {
  schema: Record<string, unknown>;
  answers: Record<string, unknown>;
}) {
  const { t } = useTranslation();
  const properties = (schema as { properties?: Record<string, FieldSchema> }).properties ?? {};
  const entries = Object.entries(answers);
  if (entries.length === 0) return <p className="empty">{t("practice.noAnswers")}</p>;
  const text = (value: unknown): string => {
    if (value === true) return t("practice.yes");
    if (value === false) return t("practice.no");
    if (Array.isArray(value)) return value.map(text).join(", ");
    return typeof value === "string" || typeof value === "number" ? String(value) : JSON.stringify(value);
  };
  return (
    <dl className="details">
      {entries.map(([name, value]) => (
        <div key={name} className="details-row">
          <dt>{properties[name]?.title ?? name}</dt>
          <dd>{text(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Who made a change, as the viewer would say it. */
function byWhom(actor: string, viewer: string, patient: string, t: ReturnType<typeof useTranslation>["t"]): string {
  if (actor === viewer) return t("appointment.by_you");
  if (actor === patient) return t("appointment.by_patient");
  if (actor.startsWith("kairos:")) return t("appointment.by_system"); // the service itself (auto-approval)
  return t("appointment.by_other");
}

export function HistoryList({
  history,
  viewer,
  patient,
  label,
}: {
  history: readonly HistoryEntry[];
  viewer: string;
  patient: string;
  label: string;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  if (history.length === 0) return <p className="empty">{t("appointment.noHistory")}</p>;
  return (
    <ol className="history" aria-label={label}>
      {history.map((entry, index) => {
        const period = entry.data.period as { starts_at?: unknown } | undefined;
        const code = entry.data.reason_code;
        return (
          <li key={index}>
            {t("appointment.historyEntry", {
              what: eventLabel(entry.kind, t),
              by: byWhom(entry.actor, viewer, patient, t),
              when: format.dateTime(entry.occurred_at),
            })}
            {entry.kind !== "requested" && typeof period?.starts_at === "string" && (
              <p className="hint">{t("appointment.newTime", { when: format.dateTime(period.starts_at) })}</p>
            )}
            {typeof code === "string" && code && (
              <p className="hint">{t("appointment.reason", { reason: reasonCodeLabel(code, t) })}</p>
            )}
            {entry.reason && <p className="hint">{t("appointment.reason", { reason: entry.reason })}</p>}
          </li>
        );
      })}
    </ol>
  );
}
