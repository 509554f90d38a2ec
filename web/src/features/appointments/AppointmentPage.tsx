import { useCallback, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useParams } from "react-router";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { usePageTitle } from "../../shared/usePageTitle";
import { useSlotChanges } from "../../shared/useSlotChanges";
import type { SignedInUser } from "../auth/session";
import { SlotPicker } from "../booking/SlotPicker";
import { approve, decline, propose } from "../practice/api";
import { DeclineForm, ProposeForm } from "../practice/DecisionForms";
import {
  ACTIVE_STATUSES,
  answerProposal,
  answersOf,
  cancelAppointment,
  idempotencyKeys,
  loadDirectory,
  readAppointment,
  readCalendarFile,
  readHistory,
  rescheduleAppointment,
  type Appointment,
  type Directory,
  type HistoryEntry,
} from "./api";
import { StatusBadge } from "./labels";
import { AnswersList, HistoryList } from "./RecordViews";

/** Statuses from which the appointment can still be moved (the service's workflow table). */
const MOVABLE: ReadonlySet<string> = new Set(["pending", "booked"]);

interface AppointmentRecord {
  appointment: Appointment;
  history: HistoryEntry[];
}

/**
 * One appointment, for its patient or for the practice. It follows the appointment live: the resource's
 * slot stream (Server-Sent Events) tells of every change to its time, status changes included, and the
 * page then reads the appointment again.
 */
export function AppointmentPage({ user }: { user: SignedInUser }) {
  const { t } = useTranslation();
  usePageTitle(t("appointment.title"));
  const api = useApi();
  const { appointmentId = "" } = useParams();
  const location = useLocation();
  const justCreated = (location.state as { created?: boolean } | null)?.created === true;
  const [notice, setNotice] = useState<string | null>(justCreated ? t("appointment.created") : null);
  const [directory, reloadDirectory] = useRemote(useCallback(() => loadDirectory(api), [api]));
  const [record, reload, refresh] = useRemote(
    useCallback(
      () =>
        Promise.all([readAppointment(api, appointmentId), readHistory(api, appointmentId)]).then(
          ([appointment, history]): AppointmentRecord => ({ appointment, history }),
        ),
      [api, appointmentId],
    ),
  );
  useSlotChanges(record.state === "ready" ? record.data.appointment.resource_id : undefined, refresh);

  const done = (message: string) => {
    setNotice(message);
    refresh();
  };

  return (
    <section aria-labelledby="appointment-title">
      <h1 id="appointment-title">{t("appointment.title")}</h1>
      <p role="status" className={notice ? "notice" : "visually-hidden"}>
        {notice}
      </p>
      {(record.state === "loading" || directory.state === "loading") && <Loading />}
      {record.state === "failed" && <ProblemMessage problem={record.problem} onRetry={reload} />}
      {directory.state === "failed" && <ProblemMessage problem={directory.problem} onRetry={reloadDirectory} />}
      {record.state === "ready" && directory.state === "ready" && (
        <AppointmentView record={record.data} directory={directory.data} user={user} onDone={done} />
      )}
      <p>
        <Link to="/appointments">{t("app.myAppointments")}</Link>
      </p>
    </section>
  );
}

function AppointmentView({
  record,
  directory,
  user,
  onDone,
}: {
  record: AppointmentRecord;
  directory: Directory;
  user: SignedInUser;
  onDone: (notice: string) => void;
}) {
  const { t } = useTranslation();
  const api = useApi();
  const format = useFormat();
  const { appointment, history } = record;
  const isPatient = appointment.patient === user.subject;
  const resource = directory.resources.find((candidate) => candidate.id === appointment.resource_id);
  const domain = resource?.domain ? directory.domains.get(resource.domain) : undefined;
  const type = domain?.appointment_types.find((kind) => kind.code === appointment.appointment_type);
  const when = format.dateTime(appointment.starts_at);
  const [keyFor] = useState(idempotencyKeys);
  const [deciding, setDeciding] = useState<"decline" | "propose" | null>(null);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);

  const act = async (action: () => Promise<unknown>, notice: string) => {
    setProblem(undefined);
    try {
      await action();
      setDeciding(null);
      onDone(notice);
    } catch (error) {
      setProblem(asProblem(error));
    }
  };

  return (
    <>
      <dl className="details card">
        <dt>{t("appointment.status")}</dt>
        <dd>
          <StatusBadge status={appointment.status} testId="appointment-status" />
        </dd>
        <dt>{t("appointment.when")}</dt>
        <dd>
          <time dateTime={appointment.starts_at}>{when}</time> ({format.timeZone})
        </dd>
        <dt>{t("appointment.with")}</dt>
        <dd>{resource?.display_name ?? appointment.resource_id}</dd>
        <dt>{t("appointment.type")}</dt>
        <dd>{type?.label ?? appointment.appointment_type}</dd>
        <dt>{isPatient ? t("appointment.message") : t("appointment.patientMessage")}</dt>
        <dd>{appointment.message ?? t("appointment.noMessage")}</dd>
      </dl>
      <p className="hint">{t("appointment.live")}</p>
      <CalendarButton appointmentId={appointment.id} />
      {problem !== undefined && <ProblemMessage problem={problem} />}

      {isPatient && appointment.status === "proposed" && (
        <div className="card" role="group" aria-labelledby="proposal-title">
          <h2 id="proposal-title">{t("appointment.proposalTitle")}</h2>
          <p>{t("appointment.proposalBody", { when })}</p>
          <div className="button-row">
            <button
              type="button"
              onClick={() =>
                void act(
                  () => answerProposal(api, appointment.id, { accept: true }, keyFor([appointment.id, "accept"])),
                  t("appointment.proposalAccepted"),
                )
              }
            >
              {t("appointment.acceptProposal")}
            </button>
            <button
              type="button"
              className="danger"
              onClick={() =>
                void act(
                  () => answerProposal(api, appointment.id, { accept: false }, keyFor([appointment.id, "reject"])),
                  t("appointment.proposalDeclined"),
                )
              }
            >
              {t("appointment.declineProposal")}
            </button>
          </div>
        </div>
      )}

      {!isPatient && appointment.status === "pending" && (
        <div className="card">
          <div className="button-row">
            <button
              type="button"
              onClick={() =>
                void act(
                  () => approve(api, appointment.id, keyFor([appointment.id, "approve"])),
                  t("practice.approved", { when }),
                )
              }
            >
              {t("practice.approve")}
            </button>
            <button type="button" className="secondary" onClick={() => setDeciding("decline")}>
              {t("practice.decline")}
            </button>
            {domain && (
              <button type="button" className="secondary" onClick={() => setDeciding("propose")}>
                {t("practice.propose")}
              </button>
            )}
          </div>
          {deciding === "decline" && (
            <DeclineForm
              title={t("practice.declineTitle", { when })}
              reasonCodes={domain?.reason_codes ?? []}
              onCancel={() => setDeciding(null)}
              onSubmit={async (reasonCode, reason) => {
                await decline(
                  api,
                  appointment.id,
                  { reason_code: reasonCode, reason },
                  keyFor([appointment.id, reasonCode, reason]),
                );
                setDeciding(null);
                onDone(t("practice.declined", { when }));
              }}
            />
          )}
          {deciding === "propose" && (
            <ProposeForm
              title={t("practice.proposeTitle", { when })}
              resourceId={appointment.resource_id}
              appointmentType={appointment.appointment_type}
              onCancel={() => setDeciding(null)}
              onSubmit={async (startsAt, reason) => {
                await propose(
                  api,
                  appointment.id,
                  { starts_at: startsAt, reason },
                  keyFor([appointment.id, startsAt, reason]),
                );
                setDeciding(null);
                onDone(t("practice.proposed", { when }));
              }}
            />
          )}
        </div>
      )}

      {!isPatient && domain && (
        <>
          <h2>{t("request.customFields")}</h2>
          <AnswersList schema={domain.form_schema ?? {}} answers={answersOf(history)} />
        </>
      )}

      <h2 id="history-title">{t("appointment.history")}</h2>
      <HistoryList
        history={history}
        viewer={user.subject}
        patient={appointment.patient}
        label={t("appointment.history")}
      />

      {domain && MOVABLE.has(appointment.status) && (
        <RescheduleForm
          appointment={appointment}
          reasonRequired={domain.cancellation?.reason_required ?? true}
          onMoved={() => onDone(t("appointment.rescheduled"))}
        />
      )}
      {ACTIVE_STATUSES.has(appointment.status) && (
        <CancelForm appointmentId={appointment.id} onCancelled={() => onDone(t("appointment.cancelled"))} />
      )}
    </>
  );
}

/** The .ics comes with the access token, so it is fetched here and handed to the browser as a download. */
function CalendarButton({ appointmentId }: { appointmentId: string }) {
  const { t } = useTranslation();
  const api = useApi();
  const [failed, setFailed] = useState<Problem | null | undefined>(undefined);
  const download = async () => {
    setFailed(undefined);
    try {
      const file = await readCalendarFile(api, appointmentId);
      const url = URL.createObjectURL(new Blob([file], { type: "text/calendar" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = `appointment-${appointmentId}.ics`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setFailed(asProblem(error) ?? { type: "about:blank", title: t("appointment.calendarFailed"), status: 0 });
    }
  };
  return (
    <>
      <button type="button" className="secondary" onClick={() => void download()}>
        {t("appointment.addToCalendar")}
      </button>
      {failed !== undefined && <ProblemMessage problem={failed} />}
    </>
  );
}

function RescheduleForm({
  appointment,
  reasonRequired,
  onMoved,
}: {
  appointment: Appointment;
  reasonRequired: boolean;
  onMoved: () => void;
}) {
  const { t } = useTranslation();
  const api = useApi();
  const [startsAt, setStartsAt] = useState("");
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<{ slot?: string; reason?: string }>({});
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [sending, setSending] = useState(false);
  const [keyFor] = useState(idempotencyKeys);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(undefined);
    const found = {
      ...(startsAt ? {} : { slot: t("appointment.chooseTime") }),
      ...(reasonRequired && !reason.trim() ? { reason: t("appointment.reasonRequired") } : {}),
    };
    setErrors(found);
    if (found.slot) return document.getElementById("reschedule-slots")?.focus();
    if (found.reason) return document.getElementById("reschedule-reason")?.focus();
    setSending(true);
    try {
      const body = { starts_at: startsAt, reason: reason.trim() };
      await rescheduleAppointment(api, appointment.id, body, keyFor([appointment.id, body]));
      setStartsAt("");
      setReason("");
      onMoved();
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setSending(false);
    }
  };

  return (
    <form onSubmit={(event) => void submit(event)} noValidate className="card" aria-labelledby="reschedule-title">
      <h2 id="reschedule-title">{t("appointment.rescheduleTitle")}</h2>
      <p className="hint">{t("appointment.rescheduleIntro")}</p>
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <SlotPicker
        id="reschedule-slots"
        resourceId={appointment.resource_id}
        appointmentType={appointment.appointment_type}
        value={startsAt}
        onChange={(value) => {
          setStartsAt(value);
          setErrors(({ slot: _fixed, ...rest }) => rest);
        }}
        error={errors.slot}
      />
      <div className="field">
        <label htmlFor="reschedule-reason">{t("appointment.rescheduleReason")}</label>
        <textarea
          id="reschedule-reason"
          rows={2}
          maxLength={2000}
          value={reason}
          aria-required={reasonRequired || undefined}
          aria-invalid={errors.reason ? true : undefined}
          aria-describedby={errors.reason ? "reschedule-reason-error" : undefined}
          onChange={(event) => setReason(event.target.value)}
        />
        {errors.reason && (
          <p id="reschedule-reason-error" className="field-error">
            {errors.reason}
          </p>
        )}
      </div>
      <button type="submit" disabled={sending}>
        {t("appointment.rescheduleSubmit")}
      </button>
    </form>
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
