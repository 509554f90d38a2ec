// The forms of a practice's decisions that need more than a click: declining (a reason code from the
// domain, and a note) and proposing another time (a free slot, and a note). The caller sends; a problem
// it throws is shown in the form.
import { useId, useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import type { Problem } from "../../api/problem";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem } from "../../shared/useRemote";
import { reasonCodeLabel } from "../appointments/labels";
import { SlotPicker } from "../booking/SlotPicker";

function useSending() {
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [sending, setSending] = useState(false);
  const send = async (action: () => Promise<void>) => {
    setProblem(undefined);
    setSending(true);
    try {
      await action();
    } catch (error) {
      setProblem(asProblem(error));
      setSending(false);
    }
  };
  return { problem, sending, send };
}

export function DeclineForm({
  title,
  reasonCodes,
  onSubmit,
  onCancel,
}: {
  title: string;
  reasonCodes: readonly string[];
  onSubmit: (reasonCode: string, reason: string | null) => Promise<void>;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [code, setCode] = useState("");
  const [note, setNote] = useState("");
  const [missing, setMissing] = useState(false);
  const codeInput = useRef<HTMLSelectElement>(null);
  const { problem, sending, send } = useSending();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMissing(!code);
    if (!code) {
      codeInput.current?.focus();
      return;
    }
    void send(() => onSubmit(code, note.trim() || null));
  };

  return (
    <form className="decision-form" aria-labelledby={`${id}-title`} noValidate onSubmit={submit}>
      <h3 id={`${id}-title`}>{title}</h3>
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <div className="field">
        <label htmlFor={`${id}-code`}>{t("practice.reasonCode")}</label>
        <select
          id={`${id}-code`}
          ref={codeInput}
          value={code}
          aria-required
          aria-invalid={missing || undefined}
          aria-describedby={missing ? `${id}-code-error` : undefined}
          onChange={(event) => {
            setCode(event.target.value);
            setMissing(false);
          }}
        >
          <option value="">{t("practice.chooseReason")}</option>
          {reasonCodes.map((reasonCode) => (
            <option key={reasonCode} value={reasonCode}>
              {reasonCodeLabel(reasonCode, t)}
            </option>
          ))}
        </select>
        {missing && (
          <p id={`${id}-code-error`} className="field-error">
            {t("request.required")}
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor={`${id}-note`}>{t("practice.reasonText")}</label>
        <p id={`${id}-note-hint`} className="hint">
          {t("practice.reasonTextHint")}
        </p>
        <textarea
          id={`${id}-note`}
          rows={2}
          maxLength={2000}
          value={note}
          aria-describedby={`${id}-note-hint`}
          onChange={(event) => setNote(event.target.value)}
        />
      </div>
      <div className="button-row">
        <button type="submit" className="danger" disabled={sending}>
          {t("practice.confirmDecline")}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          {t("practice.cancel")}
        </button>
      </div>
    </form>
  );
}

export function ProposeForm({
  title,
  resourceId,
  appointmentType,
  onSubmit,
  onCancel,
}: {
  title: string;
  resourceId: string;
  appointmentType: string;
  onSubmit: (startsAt: string, reason: string | null) => Promise<void>;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [startsAt, setStartsAt] = useState("");
  const [note, setNote] = useState("");
  const [missing, setMissing] = useState(false);
  const { problem, sending, send } = useSending();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMissing(!startsAt);
    if (!startsAt) {
      document.getElementById(`${id}-slots`)?.focus();
      return;
    }
    void send(() => onSubmit(startsAt, note.trim() || null));
  };

  return (
    <form className="decision-form" aria-labelledby={`${id}-title`} noValidate onSubmit={submit}>
      <h3 id={`${id}-title`}>{title}</h3>
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <SlotPicker
        id={`${id}-slots`}
        resourceId={resourceId}
        appointmentType={appointmentType}
        value={startsAt}
        onChange={(value) => {
          setStartsAt(value);
          setMissing(false);
        }}
        error={missing ? t("appointment.chooseTime") : undefined}
      />
      <div className="field">
        <label htmlFor={`${id}-note`}>{t("practice.proposeReason")}</label>
        <p id={`${id}-note-hint`} className="hint">
          {t("practice.reasonTextHint")}
        </p>
        <textarea
          id={`${id}-note`}
          rows={2}
          maxLength={2000}
          value={note}
          aria-describedby={`${id}-note-hint`}
          onChange={(event) => setNote(event.target.value)}
        />
      </div>
      <div className="button-row">
        <button type="submit" disabled={sending}>
          {t("practice.confirmPropose")}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          {t("practice.cancel")}
        </button>
      </div>
    </form>
  );
}
