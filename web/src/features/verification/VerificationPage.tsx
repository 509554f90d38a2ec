import { useCallback, useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { browserTimeZone, regionalLocale, useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { usePageTitle } from "../../shared/usePageTitle";
import { asProblem, useRemote } from "../../shared/useRemote";
import type { SignedInUser } from "../auth/session";
import { decide, loadSubmissions, verifiesProfessionals, type Submission } from "./api";
import "./verification.css";

/** A year from `today` (the service's default validity), as a date input's value. */
export function defaultExpiry(today: Date): string {
  const next = new Date(today.getFullYear() + 1, today.getMonth(), today.getDate());
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${next.getFullYear()}-${pad(next.getMonth() + 1)}-${pad(next.getDate())}`;
}

/** A verification's end with its year ("30 June 2028"): it is years ahead. */
function useLongDate() {
  const { i18n } = useTranslation();
  const locale = regionalLocale(i18n.language, navigator.languages);
  return (iso: string) =>
    new Intl.DateTimeFormat(locale, { dateStyle: "long", timeZone: browserTimeZone() }).format(new Date(iso));
}

/** The end of a chosen day in the browser's zone, as the instant the service takes. */
export function endOfDay(date: string): string {
  return new Date(`${date}T23:59:59`).toISOString();
}

export function VerificationPage({ user }: { user: SignedInUser }) {
  const { t } = useTranslation("admin");
  usePageTitle(t("verification.title"));
  if (!verifiesProfessionals(user) || !user.organisation) {
    return (
      <section aria-labelledby="verification-title">
        <h1 id="verification-title">{t("verification.title")}</h1>
        <p className="empty">
          {verifiesProfessionals(user) ? t("verification.noOrganisation") : t("verification.forbidden")}
        </p>
      </section>
    );
  }
  return <Queue organisation={user.organisation} />;
}

function Queue({ organisation }: { organisation: string }) {
  const { t } = useTranslation("admin");
  const api = useApi();
  const [submissions, reload, refresh] = useRemote(
    useCallback(() => loadSubmissions(api, organisation), [api, organisation]),
  );
  const [done, setDone] = useState("");
  return (
    <section aria-labelledby="verification-title" className="verification">
      <h1 id="verification-title">{t("verification.title")}</h1>
      <p>{t("verification.intro")}</p>
      {submissions.state === "loading" && <Loading />}
      {submissions.state === "failed" && <ProblemMessage problem={submissions.problem} onRetry={reload} />}
      {submissions.state === "ready" && submissions.data.length === 0 && (
        <p className="empty">{t("verification.empty")}</p>
      )}
      {submissions.state === "ready" &&
        submissions.data.map((submission) => (
          <SubmissionCard
            key={`${submission.user_id}-${submission.submitted_at ?? ""}`}
            submission={submission}
            onDecided={(message) => {
              setDone(message);
              refresh();
            }}
          />
        ))}
      <p role="status" className="notice-inline">
        {done}
      </p>
    </section>
  );
}

function SubmissionCard({ submission, onDecided }: { submission: Submission; onDecided: (message: string) => void }) {
  const { t } = useTranslation("admin");
  const api = useApi();
  const format = useFormat();
  const longDate = useLongDate();
  const id = useId();
  const [choice, setChoice] = useState<"verify" | "reject">("verify");
  const [expiry, setExpiry] = useState(() => defaultExpiry(new Date()));
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setProblem(undefined);
    try {
      const decided = await decide(
        api,
        submission,
        choice === "verify"
          ? { decision: "verify", expires_at: expiry ? endOfDay(expiry) : null }
          : { decision: "reject", reason: reason.trim() },
      );
      onDecided(
        decided.status === "verified"
          ? t("verification.verified", {
              name: decided.display_name,
              date: decided.expires_at ? longDate(decided.expires_at) : "",
            })
          : t("verification.rejected", { name: decided.display_name }),
      );
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  };

  const renewal = submission.verified_at !== null && submission.expires_at !== null;
  return (
    <article className="card" aria-labelledby={`${id}-name`} data-testid="submission">
      <h2 id={`${id}-name`}>{submission.display_name}</h2>
      <dl className="details">
        <dt>{t("verification.specialty")}</dt>
        <dd>{submission.specialty}</dd>
        <dt>{t("verification.licence")}</dt>
        <dd>{submission.licence_number}</dd>
        <dt>{t("verification.authority")}</dt>
        <dd>{submission.issuing_authority}</dd>
        <dt>{t("verification.languages")}</dt>
        <dd>{submission.languages.join(", ")}</dd>
        <dt>{t("verification.location")}</dt>
        <dd>{submission.location ?? "—"}</dd>
        <dt>{t("verification.submittedAt")}</dt>
        <dd>{submission.submitted_at ? format.dateTime(submission.submitted_at) : "—"}</dd>
        {renewal && submission.expires_at && (
          <>
            <dt>{t("verification.currentlyUntil")}</dt>
            <dd>{longDate(submission.expires_at)}</dd>
          </>
        )}
        <dt>{t("verification.documents")}</dt>
        <dd>
          {submission.document_ids.length === 0 ? (
            t("verification.noDocuments")
          ) : (
            <ul className="documents">
              {submission.document_ids.map((document) => (
                <li key={document}>
                  <code>{document}</code>
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <fieldset>
          <legend>{t("verification.decision", { name: submission.display_name })}</legend>
          <div className="field checkbox">
            <input
              id={`${id}-verify`}
              type="radio"
              name={`${id}-decision`}
              checked={choice === "verify"}
              onChange={() => setChoice("verify")}
            />
            <label htmlFor={`${id}-verify`}>{t("verification.verify")}</label>
          </div>
          <div className="field checkbox">
            <input
              id={`${id}-reject`}
              type="radio"
              name={`${id}-decision`}
              checked={choice === "reject"}
              onChange={() => setChoice("reject")}
            />
            <label htmlFor={`${id}-reject`}>{t("verification.reject")}</label>
          </div>
        </fieldset>
        {choice === "verify" ? (
          <div className="field">
            <label htmlFor={`${id}-expiry`}>{t("verification.validUntil")}</label>
            <input
              id={`${id}-expiry`}
              type="date"
              aria-describedby={`${id}-expiry-hint`}
              value={expiry}
              onChange={(event) => setExpiry(event.target.value)}
            />
            <p id={`${id}-expiry-hint`} className="hint">
              {t("verification.validUntilHint")}
            </p>
          </div>
        ) : (
          <div className="field">
            <label htmlFor={`${id}-reason`}>{t("verification.reason")}</label>
            <textarea
              id={`${id}-reason`}
              rows={3}
              maxLength={2000}
              required
              aria-describedby={`${id}-reason-hint`}
              value={reason}
              onChange={(event) => setReason(event.target.value)}
            />
            <p id={`${id}-reason-hint`} className="hint">
              {t("verification.reasonHint")}
            </p>
          </div>
        )}
        {problem !== undefined && <ProblemMessage problem={problem} />}
        <div className="button-row">
          <button
            type="submit"
            className={choice === "verify" ? "button" : "danger"}
            disabled={busy || (choice === "reject" && reason.trim() === "")}
          >
            {choice === "verify" ? t("verification.confirmVerify") : t("verification.confirmReject")}
          </button>
        </div>
      </form>
    </article>
  );
}
