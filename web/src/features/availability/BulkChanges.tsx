// Bulk availability changes: close dates or add hours for several resources at once, see first what it
// changes (working time before and after, appointments in the way), apply, and undo from the recent changes.
// The service decides who may change whose hours (a professional: their own; a practice's admins: all).
import { useCallback, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { idempotencyKeys } from "../appointments/api";
import { statusLabel } from "../appointments/labels";
import type { Resource } from "../booking/api";
import {
  changeInBulk,
  listRecentChanges,
  undoChange,
  type BulkChangeCreate,
  type BulkChangeRead,
  type RecentChange,
} from "./api";

type Kind = "close-dates" | "add-hours";

interface Draft {
  kind: Kind;
  firstDay: string;
  lastDay: string;
  startTime: string;
  endTime: string;
}

function minutesOf(time: string): number {
  const [hours, minutes] = time.split(":").map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

/** The days from the first to the last, both included (`YYYY-MM-DD`). */
export function daysBetween(first: string, last: string): string[] {
  const days: string[] = [];
  const day = new Date(`${first}T12:00:00Z`);
  const end = new Date(`${last}T12:00:00Z`);
  while (day <= end && days.length < 366) {
    days.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return days;
}

/** The request body for a draft, or the key of what is wrong with it. */
export function changeOf(draft: Draft): BulkChangeCreate["change"] | "lastAfterFirst" | "endAfterStart" {
  if (draft.kind === "close-dates") {
    if (draft.lastDay < draft.firstDay) return "lastAfterFirst";
    return { kind: "close-dates", days: [{ first_day: draft.firstDay, last_day: draft.lastDay }] };
  }
  const duration = minutesOf(draft.endTime) - minutesOf(draft.startTime);
  if (duration <= 0) return "endAfterStart";
  return { kind: "add-hours", days: [draft.firstDay], start_time: draft.startTime, duration_minutes: duration };
}

/** Closed until asked for: most visits to the page are about one person's week. */
export function BulkChangesSection({ resources }: { resources: Resource[] }) {
  const { t } = useTranslation("practice");
  const [open, setOpen] = useState(false);
  return (
    <section aria-labelledby="bulk-title" className="bulk-changes">
      <h2 id="bulk-title">
        <button
          type="button"
          className="link-button"
          aria-expanded={open}
          aria-controls="bulk-content"
          onClick={() => setOpen(!open)}
        >
          {t("bulkTitle")}
        </button>
      </h2>
      <div id="bulk-content">{open && <BulkChanges resources={resources} />}</div>
    </section>
  );
}

export function BulkChanges({ resources }: { resources: Resource[] }) {
  const { t } = useTranslation("practice");
  const api = useApi();
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [draft, setDraft] = useState<Draft>({
    kind: "close-dates",
    firstDay: "",
    lastDay: "",
    startTime: "09:00",
    endTime: "12:00",
  });
  const [preview, setPreview] = useState<{ body: string; answer: BulkChangeRead } | null>(null);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [busy, setBusy] = useState<"preview" | "apply" | null>(null);
  const [notice, setNotice] = useState("");
  const [touched, setTouched] = useState(false);
  const [keyFor] = useState(idempotencyKeys);
  const [recentRound, setRecentRound] = useState(0);

  const change = changeOf(draft);
  const complete = draft.firstDay !== "" && (draft.kind === "add-hours" || draft.lastDay !== "");
  const invalid = typeof change === "string" ? change : null;
  const body: BulkChangeCreate | null =
    complete && typeof change !== "string" && chosen.size > 0
      ? { resources: { resource_ids: [...chosen].sort() }, change }
      : null;
  const serialized = body ? JSON.stringify(body) : "";
  const shown = preview && preview.body === serialized ? preview.answer : null;

  const edit = (next: Partial<Draft>) => {
    setDraft({ ...draft, ...next });
    setNotice("");
  };
  const toggle = (id: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(id);
    else next.delete(id);
    setChosen(next);
    setNotice("");
  };

  const submitPreview = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (!body) return;
    setProblem(undefined);
    setBusy("preview");
    try {
      setPreview({ body: serialized, answer: await changeInBulk(api, body, true) });
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(null);
    }
  };

  const apply = async () => {
    if (!body) return;
    setProblem(undefined);
    setBusy("apply");
    try {
      await changeInBulk(api, body, false, keyFor(body));
      setPreview(null);
      setNotice(t("applied"));
      setRecentRound((round) => round + 1);
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(null);
    }
  };

  const names = new Map(resources.map((resource) => [resource.id, resource.display_name]));
  return (
    <>
      <p className="hint">{t("bulkIntro")}</p>
      <form className="card" onSubmit={(event) => void submitPreview(event)} noValidate>
        <fieldset>
          <legend>{t("bulkWho")}</legend>
          {resources.map((resource) => (
            <div key={resource.id} className="field checkbox">
              <input
                id={`bulk-${resource.id}`}
                type="checkbox"
                checked={chosen.has(resource.id)}
                onChange={(event) => toggle(resource.id, event.target.checked)}
              />
              <label htmlFor={`bulk-${resource.id}`}>{resource.display_name}</label>
            </div>
          ))}
          {touched && chosen.size === 0 && (
            <p role="alert" className="field-error">
              {t("bulkNoneChosen")}
            </p>
          )}
        </fieldset>
        <div className="field">
          <label htmlFor="bulk-kind">{t("bulkKind")}</label>
          <select id="bulk-kind" value={draft.kind} onChange={(event) => edit({ kind: event.target.value as Kind })}>
            <option value="close-dates">{t("kindClose")}</option>
            <option value="add-hours">{t("kindAdd")}</option>
          </select>
        </div>
        {draft.kind === "close-dates" ? (
          <div className="field-row">
            <div className="field">
              <label htmlFor="bulk-first">{t("firstDay")}</label>
              <input
                id="bulk-first"
                type="date"
                required
                value={draft.firstDay}
                onChange={(event) =>
                  edit({ firstDay: event.target.value, lastDay: draft.lastDay || event.target.value })
                }
              />
            </div>
            <div className="field">
              <label htmlFor="bulk-last">{t("lastDay")}</label>
              <input
                id="bulk-last"
                type="date"
                required
                value={draft.lastDay}
                aria-invalid={invalid === "lastAfterFirst"}
                aria-describedby={invalid === "lastAfterFirst" ? "bulk-date-error" : undefined}
                onChange={(event) => edit({ lastDay: event.target.value })}
              />
            </div>
          </div>
        ) : (
          <div className="field-row">
            <div className="field">
              <label htmlFor="bulk-day">{t("day")}</label>
              <input
                id="bulk-day"
                type="date"
                required
                value={draft.firstDay}
                onChange={(event) => edit({ firstDay: event.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor="bulk-start">{t("startTime")}</label>
              <input
                id="bulk-start"
                type="time"
                value={draft.startTime}
                onChange={(event) => edit({ startTime: event.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor="bulk-end">{t("endTime")}</label>
              <input
                id="bulk-end"
                type="time"
                value={draft.endTime}
                aria-invalid={invalid === "endAfterStart"}
                aria-describedby={invalid === "endAfterStart" ? "bulk-date-error" : undefined}
                onChange={(event) => edit({ endTime: event.target.value })}
              />
            </div>
          </div>
        )}
        {invalid && complete && (
          <p id="bulk-date-error" role="alert" className="field-error">
            {t(invalid)}
          </p>
        )}
        {problem !== undefined && <ProblemMessage problem={problem} />}
        <div className="button-row">
          <button type="submit" className="secondary" disabled={busy !== null}>
            {busy === "preview" ? t("previewing") : t("preview")}
          </button>
          {shown && (
            <button type="button" disabled={busy !== null} onClick={() => void apply()}>
              {busy === "apply" ? t("applying") : t("apply")}
            </button>
          )}
        </div>
        <p role="status" className={notice ? "notice" : "visually-hidden"}>
          {notice}
        </p>
      </form>
      {shown && <Preview answer={shown} names={names} />}
      <RecentChanges key={recentRound} names={names} />
    </>
  );
}

function Preview({ answer, names }: { answer: BulkChangeRead; names: Map<string, string> }) {
  const { t } = useTranslation("practice");
  const { t: tr } = useTranslation();
  const format = useFormat();
  const nameOf = (id: string) => names.get(id) ?? id;
  return (
    <section className="card" aria-labelledby="bulk-preview-title">
      <h3 id="bulk-preview-title">{t("previewTitle")}</h3>
      <ul className="bulk-preview">
        {answer.resources.map((result) => (
          <li key={result.resource_id}>
            {result.changed ? (
              <>
                <strong>{nameOf(result.resource_id)}</strong>
                <p>
                  {t("minutes", {
                    before: format.minutes(result.minutes_before),
                    after: format.minutes(result.minutes_after),
                  })}
                </p>
              </>
            ) : (
              <p>{t("unchanged", { who: nameOf(result.resource_id) })}</p>
            )}
            {result.conflicts.length === 0 ? (
              <p className="hint">{t("noConflicts")}</p>
            ) : (
              <>
                <h4>{t("conflictsTitle", { count: result.conflicts.length })}</h4>
                <ul aria-label={t("conflictsTitle", { count: result.conflicts.length })}>
                  {result.conflicts.map((conflict) => (
                    <li key={conflict.appointment_id}>
                      <Link to={`/appointments/${conflict.appointment_id}`}>
                        {t("conflict", {
                          when: format.dateTime(conflict.starts_at),
                          status: statusLabel(conflict.status, tr),
                        })}
                      </Link>
                    </li>
                  ))}
                </ul>
              </>
            )}
          </li>
        ))}
      </ul>
      {answer.skipped.length > 0 && (
        <p className="hint">{t("skipped", { names: answer.skipped.map(nameOf).join(", ") })}</p>
      )}
    </section>
  );
}

function describe(change: Record<string, unknown>, t: ReturnType<typeof useTranslation<"practice">>["t"]): string {
  const kind = String(change.kind);
  if (kind === "close-dates" && Array.isArray(change.days)) {
    const days = change.days as { first_day: string; last_day: string }[];
    if (days.length === 1 && days[0]) return t("recentClose", { from: days[0].first_day, to: days[0].last_day });
    return t("recentCloseMany", { count: days.length });
  }
  if (kind === "add-hours" && Array.isArray(change.days)) {
    return t("recentAdd", { days: (change.days as string[]).join(", ") });
  }
  if (kind === "replace-weekly-hours") return t("recentReplace", { from: String(change.starting) });
  return t("recentOther", { kind });
}

function RecentChanges({ names }: { names: Map<string, string> }) {
  const { t } = useTranslation("practice");
  const api = useApi();
  const format = useFormat();
  const [more, setMore] = useState<{ items: RecentChange[]; next: string | null } | null>(null);
  const [recent, reload, refresh] = useRemote(useCallback(() => listRecentChanges(api), [api]));
  const [problem, setProblem] = useState<{ id: string; problem: Problem | null } | null>(null);
  const [notice, setNotice] = useState("");
  const [keyFor] = useState(idempotencyKeys);

  const undo = async (changeId: string) => {
    setProblem(null);
    try {
      await undoChange(api, changeId, keyFor(changeId));
      setNotice(t("undoneNotice"));
      setMore(null);
      refresh();
    } catch (error) {
      setProblem({ id: changeId, problem: asProblem(error) });
    }
  };
  const loadMore = async (cursor: string) => {
    try {
      const page = await listRecentChanges(api, cursor);
      setMore((current) => ({ items: [...(current?.items ?? []), ...page.items], next: page.next }));
    } catch (error) {
      setProblem({ id: "", problem: asProblem(error) });
    }
  };

  return (
    <section aria-labelledby="recent-title">
      <h3 id="recent-title">{t("recentTitle")}</h3>
      <p role="status" className={notice ? "notice" : "visually-hidden"}>
        {notice}
      </p>
      {recent.state === "loading" && <Loading />}
      {recent.state === "failed" && <ProblemMessage problem={recent.problem} onRetry={reload} />}
      {recent.state === "ready" && recent.data.items.length === 0 && <p className="empty">{t("recentNone")}</p>}
      {recent.state === "ready" && recent.data.items.length > 0 && (
        <>
          <ul className="recent-changes" aria-label={t("recentTitle")}>
            {[...recent.data.items, ...(more?.items ?? [])].map((item) => {
              const what = describe(item.change, t);
              return (
                <li key={item.change_id} className="card">
                  <p>
                    <strong>{what}</strong>
                  </p>
                  <p className="hint">
                    {t("recentMeta", { when: format.dateTime(item.applied_at), count: item.resource_ids.length })}
                    {item.resource_ids.length > 0 &&
                      ` — ${item.resource_ids.map((id) => names.get(id) ?? id).join(", ")}`}
                  </p>
                  {item.undone_at ? (
                    <p className="hint">{t("undone", { when: format.dateTime(item.undone_at) })}</p>
                  ) : (
                    item.resource_ids.length > 0 && (
                      <button
                        type="button"
                        className="secondary"
                        aria-label={t("undoNamed", { what })}
                        onClick={() => void undo(item.change_id)}
                      >
                        {t("undo")}
                      </button>
                    )
                  )}
                  {problem?.id === item.change_id && <ProblemMessage problem={problem.problem} />}
                </li>
              );
            })}
          </ul>
          {problem?.id === "" && <ProblemMessage problem={problem.problem} />}
          {(more ? more.next : recent.data.next) && (
            <button
              type="button"
              className="secondary"
              onClick={() => void loadMore((more ? more.next : recent.data.next) ?? "")}
            >
              {t("showMore")}
            </button>
          )}
        </>
      )}
    </section>
  );
}
