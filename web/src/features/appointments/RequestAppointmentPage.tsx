import { useCallback, useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router";

import { useApi } from "../../api/client";
import { fieldOf, type Problem } from "../../api/problem";
import { instantFromLocalInput, useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { usePageTitle } from "../../shared/usePageTitle";
import { SlotPicker } from "../booking/SlotPicker";
import { idempotencyKeys, loadDirectory, requestAppointment, type AppointmentCreate, type Directory } from "./api";
import { CustomFields, checkAnswers, hasFields, type Answers, type FieldErrors } from "./CustomFields";

const DURATIONS = [15, 30, 45, 60]; // minutes, for a resource whose domain does not say

/** A datetime-local value for a moment, in the browser's zone (the input's own format). */
function localInputValue(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function RequestAppointmentPage() {
  const { t } = useTranslation();
  usePageTitle(t("request.title"));
  const api = useApi();
  const [directory, reload] = useRemote(useCallback(() => loadDirectory(api), [api]));

  return (
    <section aria-labelledby="request-title">
      <h1 id="request-title">{t("request.title")}</h1>
      <p>{t("request.intro")}</p>
      {directory.state === "loading" && <Loading />}
      {directory.state === "failed" && <ProblemMessage problem={directory.problem} onRetry={reload} />}
      {directory.state === "ready" &&
        (directory.data.resources.length === 0 ? (
          <p className="empty">{t("request.noResources")}</p>
        ) : (
          <RequestForm directory={directory.data} />
        ))}
    </section>
  );
}

/** The only appointment type of a resource's domain, chosen for the user; else none. */
function onlyTypeOf(directory: Directory, resourceId: string): string {
  const chosen = directory.resources.find((candidate) => candidate.id === resourceId);
  const types = chosen?.domain ? (directory.domains.get(chosen.domain)?.appointment_types ?? []) : [];
  return types.length === 1 && types[0] ? types[0].code : "";
}

function RequestForm({ directory }: { directory: Directory }) {
  const { t } = useTranslation();
  const api = useApi();
  const navigate = useNavigate();
  const format = useFormat();
  const [params] = useSearchParams();
  // Arriving from "find a professional": that professional is chosen already.
  const [resourceId, setResourceId] = useState(() => {
    const wanted = params.get("resource") ?? "";
    return directory.resources.some((candidate) => candidate.id === wanted) ? wanted : "";
  });
  const [typeCode, setTypeCode] = useState(() => onlyTypeOf(directory, resourceId));
  // Bumped after the service said a time was taken: the slot picker asks again for what is free.
  const [slotsRound, setSlotsRound] = useState(0);
  const [duration, setDuration] = useState(30);
  const [startsAt, setStartsAt] = useState("");
  const [message, setMessage] = useState("");
  const [answers, setAnswers] = useState<Answers>({});
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [sending, setSending] = useState(false);
  const summary = useRef<HTMLDivElement>(null);
  const [keyFor] = useState(idempotencyKeys);

  // A field's error goes as soon as the user changes the field.
  const changed = (name: string) =>
    setErrors((current) => {
      if (!(name in current)) return current;
      const { [name]: _fixed, ...rest } = current;
      return rest;
    });

  const resource = directory.resources.find((candidate) => candidate.id === resourceId);
  const domain = resource?.domain ? directory.domains.get(resource.domain) : undefined;
  const form = domain?.form_schema ?? {};

  const chooseResource = (id: string) => {
    changed("resource_id");
    setResourceId(id);
    setTypeCode(onlyTypeOf(directory, id));
    setStartsAt("");
    setAnswers({});
  };

  const check = (): FieldErrors => {
    const found: FieldErrors = {};
    if (!resourceId) found.resource_id = t("request.required");
    if (!typeCode.trim()) found.appointment_type = t("request.required");
    if (!startsAt) found.starts_at = t("request.required");
    // A typed time may be past; the service offers only future slots, and one may pass while the page is open.
    else if (!domain && new Date(startsAt) <= new Date()) found.starts_at = t("request.inThePast");
    return domain ? { ...found, ...checkAnswers(form, answers, t) } : found;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = check();
    setErrors(found);
    setProblem(undefined);
    if (Object.keys(found).length > 0) {
      document.getElementById(fieldId(Object.keys(found)[0] ?? ""))?.focus();
      return;
    }
    // A slot's start is an aware instant already; a typed time is wall time in the browser's zone.
    const starts = domain ? startsAt : instantFromLocalInput(startsAt);
    const body: AppointmentCreate = {
      resource_id: resourceId,
      appointment_type: typeCode.trim(),
      starts_at: starts,
      message: message.trim() || null,
      answers,
      // With a domain, the service derives the end from the appointment type's duration.
      ...(domain ? {} : { ends_at: new Date(Date.parse(starts) + duration * 60_000).toISOString() }),
    };
    setSending(true);
    try {
      const created = await requestAppointment(api, body, keyFor(body));
      void navigate(`/appointments/${created.id}`, { state: { created: true } });
    } catch (error) {
      const found = asProblem(error);
      setProblem(found);
      setErrors(fieldErrorsOf(found));
      setSending(false);
      if (found?.status === 409) {
        setStartsAt("");
        setSlotsRound((round) => round + 1);
      }
      queueMicrotask(() => summary.current?.focus());
    }
  };

  const error = (name: string) =>
    errors[name] ? (
      <p id={`${fieldId(name)}-error`} className="field-error">
        {errors[name]}
      </p>
    ) : null;
  const invalid = (name: string) =>
    errors[name] ? { "aria-invalid": true, "aria-describedby": `${fieldId(name)}-error` } : {};

  return (
    <form onSubmit={(event) => void submit(event)} noValidate className="card">
      <div ref={summary} tabIndex={-1}>
        {problem !== undefined && <ProblemMessage problem={problem} />}
      </div>
      <div className="field">
        <label htmlFor="resource_id">{t("request.resource")}</label>
        <select
          id="resource_id"
          value={resourceId}
          aria-required
          onChange={(event) => chooseResource(event.target.value)}
          {...invalid("resource_id")}
        >
          <option value="">{t("request.chooseResource")}</option>
          {directory.resources.map((candidate) => (
            <option key={candidate.id} value={candidate.id}>
              {candidate.domain && directory.domains.get(candidate.domain)
                ? `${candidate.display_name} — ${directory.domains.get(candidate.domain)?.label}`
                : candidate.display_name}
            </option>
          ))}
        </select>
        {error("resource_id")}
      </div>
      {domain ? (
        <div className="field">
          <label htmlFor="appointment_type">{t("request.appointmentType")}</label>
          <select
            id="appointment_type"
            value={typeCode}
            aria-required
            onChange={(event) => {
              changed("appointment_type");
              setTypeCode(event.target.value);
              setStartsAt("");
            }}
            {...invalid("appointment_type")}
          >
            <option value="">{t("request.chooseType")}</option>
            {domain.appointment_types.map((type) => (
              <option key={type.code} value={type.code}>
                {t("request.typeOption", { label: type.label, duration: format.minutes(type.duration_minutes) })}
              </option>
            ))}
          </select>
          {error("appointment_type")}
        </div>
      ) : (
        resource && (
          <>
            <div className="field">
              <label htmlFor="appointment_type">{t("request.typeCode")}</label>
              <input
                id="appointment_type"
                value={typeCode}
                aria-required
                onChange={(event) => {
                  changed("appointment_type");
                  setTypeCode(event.target.value);
                }}
                {...invalid("appointment_type")}
              />
              {error("appointment_type")}
            </div>
            <div className="field">
              <label htmlFor="duration">{t("request.durationLabel")}</label>
              <select id="duration" value={duration} onChange={(event) => setDuration(Number(event.target.value))}>
                {DURATIONS.map((minutes) => (
                  <option key={minutes} value={minutes}>
                    {format.minutes(minutes)}
                  </option>
                ))}
              </select>
            </div>
          </>
        )
      )}
      {domain && resource && typeCode ? (
        <SlotPicker
          key={`${resource.id} ${typeCode} ${slotsRound}`}
          id="starts_at"
          resourceId={resource.id}
          appointmentType={typeCode}
          value={startsAt}
          onChange={(value) => {
            changed("starts_at");
            setStartsAt(value);
          }}
          error={errors.starts_at}
        />
      ) : domain ? (
        <p className="hint">{t("slots.chooseType")}</p>
      ) : (
        <div className="field">
          <label htmlFor="starts_at">{t("request.startsAt")}</label>
          <p id="starts_at-hint" className="hint">
            {t("request.zoneHint", { zone: format.timeZone })}
          </p>
          <input
            id="starts_at"
            type="datetime-local"
            value={startsAt}
            min={localInputValue(new Date())}
            aria-required
            onChange={(event) => {
              changed("starts_at");
              setStartsAt(event.target.value);
            }}
            {...invalid("starts_at")}
            aria-describedby={["starts_at-hint", errors.starts_at && "starts_at-error"].filter(Boolean).join(" ")}
          />
          {error("starts_at")}
        </div>
      )}
      {domain && hasFields(form) && (
        <fieldset>
          <legend>{t("request.customFields")}</legend>
          <CustomFields
            key={domain.name}
            schema={form}
            answers={answers}
            errors={errors}
            onChange={(next, field) => {
              changed(field);
              setAnswers(next);
            }}
          />
        </fieldset>
      )}
      <div className="field">
        <label htmlFor="message">{t("request.message")}</label>
        <p id="message-hint" className="hint">
          {t("request.messageHint")}
        </p>
        <textarea
          id="message"
          rows={4}
          maxLength={4000}
          value={message}
          aria-describedby="message-hint"
          onChange={(event) => setMessage(event.target.value)}
        />
      </div>
      <button type="submit" disabled={sending}>
        {sending ? t("request.submitting") : t("request.submit")}
      </button>
    </form>
  );
}

/** The id of the control a field error belongs to: the form's own fields, or a domain question. */
function fieldId(name: string): string {
  return ["resource_id", "appointment_type", "starts_at", "message"].includes(name) ? name : `answer-${name}`;
}

function fieldErrorsOf(problem: Problem | null): FieldErrors {
  const found: FieldErrors = {};
  for (const item of problem?.errors ?? []) {
    const field = fieldOf(item);
    if (field && !(field in found)) found[field] = item.message;
  }
  return found;
}
