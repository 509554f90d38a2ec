import { useCallback, useId, useMemo, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { usePageTitle } from "../../shared/usePageTitle";
import type { SignedInUser } from "../auth/session";
import { administersDomains, readDomain, saveDomain, type AppointmentType, type Domain, type DomainWrite } from "./api";
import { NotADomainAdmin } from "./DomainsPage";
import { FormDesigner } from "./FormDesigner";
import { fieldProblems, formOf, schemaOf, type FormDraft } from "./formSchema";
import { workflowDraftOf, workflowOf, workflowProblems, type WorkflowDraft } from "./workflow";
import { WorkflowSettings } from "./WorkflowSettings";
import "./admin.css";

export function DomainEditorPage({ user }: { user: SignedInUser }) {
  const { t } = useTranslation("admin");
  const { name = "" } = useParams();
  if (!administersDomains(user)) return <NotADomainAdmin title={t("edit.title", { label: name })} />;
  return <DomainLoader key={name} name={name} />;
}

function DomainLoader({ name }: { name: string }) {
  const { t } = useTranslation("admin");
  const api = useApi();
  const [domain, reload] = useRemote(useCallback(() => readDomain(api, name), [api, name]));
  usePageTitle(t("edit.title", { label: domain.state === "ready" ? domain.data.label : name }));
  return (
    <section aria-labelledby="domain-title" className="admin-editor">
      <p>
        <Link to="/admin/domains">{t("edit.back")}</Link>
      </p>
      {domain.state === "loading" && (
        <>
          <h1 id="domain-title">{t("edit.title", { label: name })}</h1>
          <Loading />
        </>
      )}
      {domain.state === "failed" && (
        <>
          <h1 id="domain-title">{t("edit.title", { label: name })}</h1>
          <ProblemMessage problem={domain.problem} onRetry={reload} />
        </>
      )}
      {domain.state === "ready" && <DomainEditor key={domain.data.version} domain={domain.data} />}
    </section>
  );
}

/** An appointment type as edited: numbers as typed (an input may be empty for a moment). */
type TypeDraft = Omit<
  AppointmentType,
  | "duration_minutes"
  | "buffer_before_minutes"
  | "buffer_after_minutes"
  | "minimum_notice_minutes"
  | "booking_horizon_days"
  | "capacity"
> & {
  uid: string;
  duration_minutes: string;
  buffer_before_minutes: string;
  buffer_after_minutes: string;
  minimum_notice_minutes: string;
  booking_horizon_days: string;
  capacity: string;
};

const NUMBERS = [
  "duration_minutes",
  "buffer_before_minutes",
  "buffer_after_minutes",
  "minimum_notice_minutes",
  "booking_horizon_days",
  "capacity",
] as const;
const LABELS: Record<(typeof NUMBERS)[number], string> = {
  duration_minutes: "types.duration",
  buffer_before_minutes: "types.bufferBefore",
  buffer_after_minutes: "types.bufferAfter",
  minimum_notice_minutes: "types.notice",
  booking_horizon_days: "types.horizon",
  capacity: "types.capacity",
};

function typeDraft(type: AppointmentType, uid: string): TypeDraft {
  const text = (value: number | null | undefined) => (value == null ? "" : String(value));
  return {
    ...type,
    uid,
    duration_minutes: text(type.duration_minutes),
    buffer_before_minutes: text(type.buffer_before_minutes),
    buffer_after_minutes: text(type.buffer_after_minutes),
    minimum_notice_minutes: text(type.minimum_notice_minutes),
    booking_horizon_days: text(type.booking_horizon_days),
    capacity: text(type.capacity),
  };
}

/** A typed number, or null when empty: the service names what is missing or wrong (422). */
function numberOf(value: string): number | null {
  return value.trim() === "" ? null : Number(value);
}

function typeOf(draft: TypeDraft): AppointmentType {
  const { uid: _uid, ...type } = draft;
  return {
    ...type,
    duration_minutes: numberOf(draft.duration_minutes) as number,
    buffer_before_minutes: numberOf(draft.buffer_before_minutes) ?? 0,
    buffer_after_minutes: numberOf(draft.buffer_after_minutes) ?? 0,
    minimum_notice_minutes: numberOf(draft.minimum_notice_minutes) ?? 0,
    booking_horizon_days: numberOf(draft.booking_horizon_days),
    capacity: numberOf(draft.capacity) ?? 1,
  };
}

/** The service's defaults for a new appointment type (schemas.AppointmentTypeModel). */
const NEW_TYPE: AppointmentType = {
  code: "",
  label: "",
  duration_minutes: 30,
  buffer_before_minutes: 0,
  buffer_after_minutes: 0,
  needs_approval: true,
  capacity: 1,
  minimum_notice_minutes: 0,
};

let typeCounter = 0;
const nextUid = () => `type-${(typeCounter += 1)}`;

function DomainEditor({ domain }: { domain: Domain }) {
  const { t } = useTranslation("admin");
  const api = useApi();
  const id = useId();
  const [current, setCurrent] = useState(domain);
  const [label, setLabel] = useState(domain.label);
  const [terminology, setTerminology] = useState(domain.terminology);
  const [types, setTypes] = useState(() => domain.appointment_types.map((type) => typeDraft(type, nextUid())));
  const [reasons, setReasons] = useState((domain.reason_codes ?? []).join("\n"));
  const cancellation = domain.cancellation ?? { cutoff_hours: 24, reason_required: true, max_reschedules: 2 };
  const [cutoff, setCutoff] = useState(String(cancellation.cutoff_hours));
  const [reasonRequired, setReasonRequired] = useState(cancellation.reason_required);
  const [maxReschedules, setMaxReschedules] = useState(
    cancellation.max_reschedules == null ? "" : String(cancellation.max_reschedules),
  );
  const [form, setForm] = useState<FormDraft>(() => formOf(domain.form_schema ?? { type: "object" }));
  const [saving, setSaving] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [saved, setSaved] = useState<number | null>(null);
  const [workflow, setWorkflow] = useState<WorkflowDraft>(() => workflowDraftOf(domain));
  const problems = useMemo(() => fieldProblems(form.fields), [form.fields]);
  const workflowInvalid = useMemo(() => workflowProblems(workflow), [workflow]);

  const updateType = (uid: string, changes: Partial<TypeDraft>) =>
    setTypes((before) => before.map((type) => (type.uid === uid ? { ...type, ...changes } : type)));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(null);
    if (problems.size > 0 || workflowInvalid.size > 0) {
      setProblem({ type: "about:blank", title: t("edit.invalid"), status: 0 });
      return;
    }
    setSaving(true);
    setProblem(undefined);
    // What this page does not edit (keywords of the form's schema it does not show…) is sent back as it was.
    const { name, version: _version, ...unchanged } = current;
    const body: DomainWrite = {
      ...unchanged,
      label,
      terminology,
      appointment_types: types.map(typeOf),
      reason_codes: reasons
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean),
      cancellation: {
        cutoff_hours: numberOf(cutoff) as number,
        reason_required: reasonRequired,
        max_reschedules: numberOf(maxReschedules),
      },
      form_schema: schemaOf(form),
      ...workflowOf(workflow),
    };
    try {
      const updated = await saveDomain(api, name, body);
      setCurrent(updated);
      setSaved(updated.version);
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form onSubmit={(event) => void submit(event)} noValidate>
      <h1 id="domain-title">{t("edit.title", { label: current.label })}</h1>
      <p className="hint">
        <code>{current.name}</code> · {t("edit.version", { version: current.version })}
      </p>

      <section className="card" aria-labelledby={`${id}-general`}>
        <h2 id={`${id}-general`}>{t("edit.general")}</h2>
        <div className="field">
          <label htmlFor={`${id}-label`}>{t("edit.label")}</label>
          <input id={`${id}-label`} type="text" value={label} onChange={(event) => setLabel(event.target.value)} />
        </div>
        <fieldset>
          <legend>{t("edit.terminology")}</legend>
          <div className="admin-grid">
            {(["client", "professional"] as const).map((word) => (
              <div className="field" key={word}>
                <label htmlFor={`${id}-${word}`}>{t(`edit.${word}`)}</label>
                <input
                  id={`${id}-${word}`}
                  type="text"
                  value={terminology[word]}
                  onChange={(event) => setTerminology({ ...terminology, [word]: event.target.value })}
                />
              </div>
            ))}
          </div>
        </fieldset>
      </section>

      <section className="card" aria-labelledby={`${id}-types`}>
        <h2 id={`${id}-types`}>{t("types.title")}</h2>
        {types.map((type, index) => (
          <fieldset key={type.uid}>
            <legend>{t("types.legend", { number: index + 1, label: type.label || type.code })}</legend>
            <div className="admin-grid">
              <div className="field">
                <label htmlFor={`${id}-${type.uid}-label`}>{t("types.label")}</label>
                <input
                  id={`${id}-${type.uid}-label`}
                  type="text"
                  value={type.label}
                  onChange={(event) => updateType(type.uid, { label: event.target.value })}
                />
              </div>
              <div className="field">
                <label htmlFor={`${id}-${type.uid}-code`}>{t("types.code")}</label>
                <input
                  id={`${id}-${type.uid}-code`}
                  type="text"
                  spellCheck={false}
                  aria-describedby={`${id}-${type.uid}-code-hint`}
                  value={type.code}
                  onChange={(event) => updateType(type.uid, { code: event.target.value })}
                />
                <p id={`${id}-${type.uid}-code-hint`} className="hint">
                  {t("types.codeHint")}
                </p>
              </div>
              {NUMBERS.map((field) => (
                <div className="field" key={field}>
                  <label htmlFor={`${id}-${type.uid}-${field}`}>{t(LABELS[field] as "types.duration")}</label>
                  <input
                    id={`${id}-${type.uid}-${field}`}
                    type="number"
                    min={
                      field === "duration_minutes" || field === "capacity" || field === "booking_horizon_days" ? 1 : 0
                    }
                    step={1}
                    value={type[field]}
                    aria-describedby={field === "booking_horizon_days" ? `${id}-${type.uid}-horizon-hint` : undefined}
                    onChange={(event) => updateType(type.uid, { [field]: event.target.value })}
                  />
                  {field === "booking_horizon_days" && (
                    <p id={`${id}-${type.uid}-horizon-hint`} className="hint">
                      {t("types.horizonHint")}
                    </p>
                  )}
                </div>
              ))}
            </div>
            <div className="field checkbox">
              <input
                id={`${id}-${type.uid}-approval`}
                type="checkbox"
                checked={type.needs_approval ?? true}
                onChange={(event) => updateType(type.uid, { needs_approval: event.target.checked })}
              />
              <label htmlFor={`${id}-${type.uid}-approval`}>{t("types.needsApproval")}</label>
            </div>
            <button
              type="button"
              className="danger"
              disabled={types.length === 1}
              onClick={() => setTypes((before) => before.filter((item) => item.uid !== type.uid))}
            >
              {t("types.remove", { label: type.label || type.code })}
            </button>
          </fieldset>
        ))}
        {types.length === 1 && <p className="hint">{t("types.atLeastOne")}</p>}
        <button
          type="button"
          className="secondary"
          onClick={() =>
            setTypes((before) => [...before, typeDraft({ ...NEW_TYPE, code: `type-${before.length + 1}` }, nextUid())])
          }
        >
          {t("types.add")}
        </button>
      </section>

      <section className="card" aria-labelledby={`${id}-reasons`}>
        <h2 id={`${id}-reasons`}>{t("reasons.title")}</h2>
        <div className="field">
          <label htmlFor={`${id}-reason-codes`}>{t("reasons.label")}</label>
          <textarea
            id={`${id}-reason-codes`}
            rows={4}
            spellCheck={false}
            aria-describedby={`${id}-reason-codes-hint`}
            value={reasons}
            onChange={(event) => setReasons(event.target.value)}
          />
          <p id={`${id}-reason-codes-hint`} className="hint">
            {t("reasons.hint")}
          </p>
        </div>
      </section>

      <section className="card" aria-labelledby={`${id}-cancellation`}>
        <h2 id={`${id}-cancellation`}>{t("cancellation.title")}</h2>
        <div className="admin-grid">
          <div className="field">
            <label htmlFor={`${id}-cutoff`}>{t("cancellation.cutoff")}</label>
            <input
              id={`${id}-cutoff`}
              type="number"
              min={0}
              step="any"
              value={cutoff}
              onChange={(event) => setCutoff(event.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-reschedules`}>{t("cancellation.maxReschedules")}</label>
            <input
              id={`${id}-reschedules`}
              type="number"
              min={0}
              step={1}
              aria-describedby={`${id}-reschedules-hint`}
              value={maxReschedules}
              onChange={(event) => setMaxReschedules(event.target.value)}
            />
            <p id={`${id}-reschedules-hint`} className="hint">
              {t("cancellation.maxReschedulesHint")}
            </p>
          </div>
        </div>
        <div className="field checkbox">
          <input
            id={`${id}-reason-required`}
            type="checkbox"
            checked={reasonRequired}
            onChange={(event) => setReasonRequired(event.target.checked)}
          />
          <label htmlFor={`${id}-reason-required`}>{t("cancellation.reasonRequired")}</label>
        </div>
      </section>

      <WorkflowSettings
        draft={workflow}
        types={types.map((type) => ({ code: type.code, label: type.label }))}
        problems={workflowInvalid}
        onChange={setWorkflow}
      />

      <FormDesigner form={form} problems={problems} onChange={setForm} />

      {problem !== undefined && <ProblemMessage problem={problem} />}
      <div className="button-row">
        <button type="submit" className="button" disabled={saving}>
          {saving ? t("edit.saving") : t("edit.save")}
        </button>
        <p role="status" className="notice-inline">
          {saved !== null ? t("edit.saved", { version: saved }) : ""}
        </p>
      </div>
    </form>
  );
}
