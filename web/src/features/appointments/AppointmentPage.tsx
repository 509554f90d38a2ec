import { useCallback, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useParams } from "react-router";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { en } from "../../i18n/en";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { usePageTitle } from "../../shared/usePageTitle";
import type { SignedInUser } from "../auth/session";
import {
  ACTIVE_STATUSES,
  cancelAppointment,
  idempotencyKeys,
  loadDirectory,
  readAppointment,
  type Appointment,
  type Directory,
} from "./api";

function isKnown<T extends object>(keys: T, key: string): key is Extract<keyof T, string> {
  return Object.hasOwn(keys, key);
}

export function AppointmentPage({ user }: { user: SignedInUser }) {
  const { t } = useTranslation();
  usePageTitle(t("appointment.title"));
  const api = useApi();
  const { appointmentId = "" } = useParams();
  const location = useLocation();
  const justCreated = (location.state as { created?: boolean } | null)?.created === true;
  const [notice, setNotice] = useState<string | null>(justCreated ? t("appointment.created") : null);
  const [remote, reload] = useRemote(
    useCallback(() => Promise.all([readAppointment(api, appointmentId), loadDirectory(api)]), [api, appointmentId]),
  );

  return (
    <section aria-labelledby="appointment-title">
      <h1 id="appointment-title">{t("appointment.title")}</h1>
      <p role="status" className={notice ? "notice" : "visually-hidden"}>
        {notice}
      </p>
      {remote.state === "loading" && <Loading />}
      {remote.state === "failed" && <ProblemMessage problem={remote.problem} onRetry={reload} />}
      {remote.state === "ready" && (
        <>
          <Details appointment={remote.data[0]} directory={remote.data[1]} user={user} />
          <button type="button" className="secondary" onClick={reload}>
            {t("appointment.refresh")}
          </button>
          {ACTIVE_STATUSES.has(remote.data[0].status) && (
            <CancelForm
              appointmentId={remote.data[0].id}
              onCancelled={() => {
                setNotice(t("appointment.cancelled"));
                reload();
              }}
            />
          )}
        </>
      )}
      <p>
        <Link to="/appointments/new">{t("appointment.anotherRequest")}</Link>
      </p>
    </section>
  );
}

function Details({
  appointment,
  directory,
  user,
}: {
  appointment: Appointment;
  directory: Directory;
  user: SignedInUser;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  const resource = directory.resources.find((candidate) => candidate.id === appointment.resource_id);
  const type = resource?.domain
    ? directory.domains
        .get(resource.domain)
        ?.appointment_types.find((kind) => kind.code === appointment.appointment_type)
    : undefined;
  const status = isKnown(en.status, appointment.status) ? t(`status.${appointment.status}`) : appointment.status;

  return (
    <>
      <dl className="details card">
        <dt>{t("appointment.status")}</dt>
        <dd>
          <span className={`status status-${appointment.status}`} data-testid="appointment-status">
            {status}
          </span>
        </dd>
        <dt>{t("appointment.when")}</dt>
        <dd>
          <time dateTime={appointment.starts_at}>{format.dateTime(appointment.starts_at)}</time> ({format.timeZone})
        </dd>
        <dt>{t("appointment.with")}</dt>
        <dd>{resource?.display_name ?? appointment.resource_id}</dd>
        <dt>{t("appointment.type")}</dt>
        <dd>{type?.label ?? appointment.appointment_type}</dd>
        <dt>{t("appointment.message")}</dt>
        <dd>{appointment.message ?? t("appointment.noMessage")}</dd>
      </dl>
      <h2>{t("appointment.history")}</h2>
      {appointment.history.length === 0 ? (
        <p className="empty">{t("appointment.noHistory")}</p>
      ) : (
        <ol className="history">
          {appointment.history.map((entry, index) => (
            <li key={index}>
              {t("appointment.historyEntry", {
                what: isKnown(en.events, entry.kind) ? t(`events.${entry.kind}`) : entry.kind,
                by: entry.actor === user.subject ? t("appointment.by_you") : t("appointment.by_other"),
                when: format.dateTime(entry.occurred_at),
              })}
              {entry.reason && <p className="hint">{t("appointment.reason", { reason: entry.reason })}</p>}
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

function CancelForm({ appointmentId, onCancelled }: { appointmentId: string; onCancelled: () => void }) {
  const { t } = useTranslation();
  const api = useApi();
  const [reason, setReason] = useState("");
  const [missing, setMissing] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [sending, setSending] = useState(false);
  const [keyFor] = useState(idempotencyKeys);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(undefined);
    setMissing(!reason.trim());
    if (!reason.trim()) return;
    setSending(true);
    try {
      await cancelAppointment(api, appointmentId, reason.trim(), keyFor([appointmentId, reason.trim()]));
      onCancelled();
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setSending(false);
    }
  };

  return (
    <form onSubmit={(event) => void submit(event)} noValidate className="card" aria-labelledby="cancel-title">
      <h2 id="cancel-title">{t("appointment.cancelTitle")}</h2>
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <div className="field">
        <label htmlFor="cancel-reason">{t("appointment.cancelReason")}</label>
        <textarea
          id="cancel-reason"
          rows={2}
          maxLength={2000}
          value={reason}
          aria-required
          aria-invalid={missing || undefined}
          aria-describedby={missing ? "cancel-reason-error" : undefined}
          onChange={(event) => setReason(event.target.value)}
        />
        {missing && (
          <p id="cancel-reason-error" className="field-error">
            {t("request.required")}
          </p>
        )}
      </div>
      <button type="submit" className="danger" disabled={sending}>
        {t("appointment.cancelSubmit")}
      </button>
    </form>
  );
}
