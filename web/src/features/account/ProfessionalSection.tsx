import { useCallback, useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import {
  loadProfessionalProfile,
  saveProfessionalDraft,
  submitProfessionalProfile,
  type Credentials,
  type ProfessionalProfile,
} from "./api";

interface Draft {
  specialty: string;
  licence_number: string;
  issuing_authority: string;
  languages: string;
  location: string;
}

function draftOf(profile: ProfessionalProfile | null): Draft {
  return {
    specialty: profile?.specialty ?? "",
    licence_number: profile?.licence_number ?? "",
    issuing_authority: profile?.issuing_authority ?? "",
    languages: (profile?.languages ?? []).join(", "),
    location: profile?.location ?? "",
  };
}

/** The credentials to send; the documents already attached are kept (they are added elsewhere). */
export function credentialsOf(draft: Draft, profile: ProfessionalProfile | null): Credentials {
  return {
    specialty: draft.specialty.trim(),
    licence_number: draft.licence_number.trim(),
    issuing_authority: draft.issuing_authority.trim(),
    languages: draft.languages
      .split(/[\s,]+/)
      .map((tag) => tag.trim())
      .filter(Boolean),
    location: draft.location.trim() || null,
    document_ids: profile?.document_ids ?? [],
  };
}

export function ProfessionalSection({ organisation }: { organisation: string }) {
  const { t } = useTranslation("account");
  const api = useApi();
  const [profile, reload] = useRemote(
    useCallback(() => loadProfessionalProfile(api, organisation), [api, organisation]),
  );
  return (
    <section className="card" aria-labelledby="professional-title">
      <h2 id="professional-title">{t("professional.title")}</h2>
      <p>{t("professional.intro")}</p>
      {profile.state === "loading" && <Loading />}
      {profile.state === "failed" && <ProblemMessage problem={profile.problem} onRetry={reload} />}
      {profile.state === "ready" && <ProfessionalForm organisation={organisation} profile={profile.data} />}
    </section>
  );
}

function ProfessionalForm({ organisation, profile }: { organisation: string; profile: ProfessionalProfile | null }) {
  const { t } = useTranslation("account");
  const api = useApi();
  const format = useFormat();
  const id = useId();
  const [current, setCurrent] = useState(profile);
  const [draft, setDraft] = useState(() => draftOf(profile));
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [done, setDone] = useState("");
  // A submitted or verified profile changes only by a new submission; a draft can be saved as it is.
  const mayDraft = current === null || ["draft", "rejected", "expired"].includes(current.status);

  const send = async (submit: boolean) => {
    setBusy(true);
    setProblem(undefined);
    setDone("");
    try {
      const body = credentialsOf(draft, current);
      const saved = submit
        ? await submitProfessionalProfile(api, organisation, body)
        : await saveProfessionalDraft(api, organisation, body);
      setCurrent(saved);
      setDraft(draftOf(saved));
      setDone(submit ? t("professional.submitted") : t("saved"));
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void send(true);
  };
  const input = (name: keyof Draft, label: string, hint?: string) => (
    <div className="field">
      <label htmlFor={`${id}-${name}`}>{label}</label>
      <input
        id={`${id}-${name}`}
        type="text"
        value={draft[name]}
        aria-describedby={hint ? `${id}-${name}-hint` : undefined}
        onChange={(event) => setDraft((before) => ({ ...before, [name]: event.target.value }))}
      />
      {hint && (
        <p id={`${id}-${name}-hint`} className="hint">
          {hint}
        </p>
      )}
    </div>
  );

  return (
    <form onSubmit={onSubmit} noValidate>
      <dl className="details">
        <dt>{t("professional.statusLabel")}</dt>
        <dd data-testid="professional-status">{t(`professional.status.${current?.status ?? "draft"}`)}</dd>
      </dl>
      {current?.status === "verified" && current.expires_at && (
        <p className="hint">{t("professional.verifiedUntil", { date: format.dateTime(current.expires_at) })}</p>
      )}
      {current?.rejection_reason && (
        <p className="hint">{t("professional.rejectionReason", { reason: current.rejection_reason })}</p>
      )}
      {current?.is_listed && <p className="hint">{t("professional.listed")}</p>}
      {input("specialty", t("professional.specialty"))}
      {input("licence_number", t("professional.licence"))}
      {input("issuing_authority", t("professional.authority"))}
      {input("languages", t("professional.languages"), t("professional.languagesHint"))}
      {input("location", t("professional.location"))}
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <div className="button-row">
        {mayDraft && (
          <button type="button" className="secondary" disabled={busy} onClick={() => void send(false)}>
            {t("professional.saveDraft")}
          </button>
        )}
        <button type="submit" className="button" disabled={busy}>
          {t("professional.submit")}
        </button>
      </div>
      <p role="status" className="notice-inline">
        {done}
      </p>
    </form>
  );
}
