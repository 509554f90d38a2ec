import { useCallback, useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { LANGUAGES } from "../../i18n";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import {
  CHANNELS,
  NOTIFICATION_KINDS,
  loadProfile,
  updateProfile,
  type Channel,
  type NotificationKind,
  type Profile,
  type ProfileUpdate,
} from "./api";
import { timeZones } from "./zones";

/** Channels a kind always uses: security notices go by e-mail whatever one chooses (identity enforces it). */
const MANDATORY: Partial<Record<NotificationKind, Channel[]>> = { account_security: ["email"] };

export function ProfileSection() {
  const { t } = useTranslation("account");
  const api = useApi();
  const [profile, reload] = useRemote(useCallback(() => loadProfile(api), [api]));
  return (
    <section className="card" aria-labelledby="profile-title">
      <h2 id="profile-title">{t("profile.title")}</h2>
      {profile.state === "loading" && <Loading />}
      {profile.state === "failed" && <ProblemMessage problem={profile.problem} onRetry={reload} />}
      {profile.state === "ready" && <ProfileForm key={profile.data.updated_at ?? ""} profile={profile.data} />}
    </section>
  );
}

interface Draft {
  display_name: string;
  given_name: string;
  family_name: string;
  phone: string;
  locale: string;
  zone: string;
  notifications: Record<NotificationKind, Channel[]>;
}

function draftOf(profile: Profile): Draft {
  const notifications = Object.fromEntries(
    NOTIFICATION_KINDS.map((kind) => [kind, profile.notifications[kind] ?? []]),
  ) as Record<NotificationKind, Channel[]>;
  return {
    display_name: profile.display_name,
    given_name: profile.given_name ?? "",
    family_name: profile.family_name ?? "",
    phone: profile.phone ?? "",
    locale: profile.locale,
    zone: profile.zone,
    notifications,
  };
}

/** What changed between the profile and the draft; an emptied optional field is cleared (null). */
export function changesOf(profile: Profile, draft: Draft): ProfileUpdate {
  const before = draftOf(profile);
  const changes: ProfileUpdate = {};
  if (draft.display_name.trim() !== before.display_name) changes.display_name = draft.display_name.trim();
  for (const name of ["given_name", "family_name", "phone"] as const) {
    const value = draft[name].trim();
    if (value !== before[name]) changes[name] = value === "" ? null : value;
  }
  if (draft.locale !== before.locale) changes.locale = draft.locale;
  if (draft.zone !== before.zone) changes.zone = draft.zone;
  if (JSON.stringify(draft.notifications) !== JSON.stringify(before.notifications))
    changes.notifications = draft.notifications;
  return changes;
}

function ProfileForm({ profile }: { profile: Profile }) {
  const { t } = useTranslation("account");
  const api = useApi();
  const id = useId();
  const [current, setCurrent] = useState(profile);
  const [draft, setDraft] = useState(() => draftOf(profile));
  const [saving, setSaving] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined); // undefined: no error
  const [saved, setSaved] = useState(false);
  const zones = timeZones(draft.zone);
  const languages: Record<string, string> = { ...LANGUAGES };
  if (!Object.hasOwn(languages, draft.locale)) languages[draft.locale] = draft.locale;

  const set = <K extends keyof Draft>(name: K, value: Draft[K]) => {
    setDraft((before) => ({ ...before, [name]: value }));
    setSaved(false);
  };
  const toggle = (kind: NotificationKind, channel: Channel, on: boolean) => {
    const channels = draft.notifications[kind].filter((item) => item !== channel);
    if (on) channels.push(channel);
    set("notifications", { ...draft.notifications, [kind]: CHANNELS.filter((item) => channels.includes(item)) });
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setProblem(undefined);
    try {
      const updated = await updateProfile(api, changesOf(current, draft));
      setCurrent(updated);
      setDraft(draftOf(updated));
      setSaved(true);
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setSaving(false);
    }
  };

  const field = (name: "display_name" | "given_name" | "family_name", label: string, autoComplete: string) => (
    <div className="field">
      <label htmlFor={`${id}-${name}`}>{label}</label>
      <input
        id={`${id}-${name}`}
        type="text"
        autoComplete={autoComplete}
        required={name === "display_name"}
        value={draft[name]}
        onChange={(event) => set(name, event.target.value)}
      />
    </div>
  );

  return (
    <form onSubmit={(event) => void submit(event)} noValidate>
      <p>
        {t("profile.email")}: <strong>{current.email}</strong>
      </p>
      {field("display_name", t("profile.displayName"), "name")}
      {field("given_name", t("profile.givenName"), "given-name")}
      {field("family_name", t("profile.familyName"), "family-name")}
      <div className="field">
        <label htmlFor={`${id}-phone`}>{t("profile.phone")}</label>
        <input
          id={`${id}-phone`}
          type="tel"
          autoComplete="tel"
          aria-describedby={`${id}-phone-hint`}
          value={draft.phone}
          onChange={(event) => set("phone", event.target.value)}
        />
        <p id={`${id}-phone-hint`} className="hint">
          {t("profile.phoneHint")}
        </p>
      </div>
      <div className="field">
        <label htmlFor={`${id}-locale`}>{t("profile.locale")}</label>
        <select id={`${id}-locale`} value={draft.locale} onChange={(event) => set("locale", event.target.value)}>
          {Object.entries(languages).map(([code, name]) => (
            <option key={code} value={code} lang={code}>
              {name}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-zone`}>{t("profile.zone")}</label>
        <select
          id={`${id}-zone`}
          aria-describedby={`${id}-zone-hint`}
          value={draft.zone}
          onChange={(event) => set("zone", event.target.value)}
        >
          {zones.map((zone) => (
            <option key={zone} value={zone}>
              {zone.replaceAll("_", " ")}
            </option>
          ))}
        </select>
        <p id={`${id}-zone-hint`} className="hint">
          {t("profile.zoneHint")}
        </p>
      </div>
      <fieldset>
        <legend>{t("profile.notifications")}</legend>
        <p className="hint">{t("profile.notificationsHint")}</p>
        <div className="table-scroll">
          <table className="account-table">
            <thead>
              <tr>
                <th scope="col">{t("profile.kind")}</th>
                {CHANNELS.map((channel) => (
                  <th scope="col" key={channel}>
                    {t(`profile.channels.${channel}`)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {NOTIFICATION_KINDS.map((kind) => (
                <tr key={kind}>
                  <th scope="row">{t(`profile.kinds.${kind}`)}</th>
                  {CHANNELS.map((channel) => {
                    const mandatory = MANDATORY[kind]?.includes(channel) ?? false;
                    return (
                      <td key={channel}>
                        <input
                          type="checkbox"
                          aria-label={`${t(`profile.kinds.${kind}`)}: ${t(`profile.channels.${channel}`)}`}
                          checked={mandatory || draft.notifications[kind].includes(channel)}
                          disabled={mandatory}
                          onChange={(event) => toggle(kind, channel, event.target.checked)}
                        />
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p className="hint">{t("profile.mandatory")}</p>
      </fieldset>
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <div className="button-row">
        <button type="submit" className="button" disabled={saving}>
          {saving ? t("saving") : t("save")}
        </button>
        <p role="status" className="notice-inline">
          {saved ? t("saved") : ""}
        </p>
      </div>
    </form>
  );
}
