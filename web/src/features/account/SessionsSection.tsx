import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { loadSessions, revokeOtherSessions, revokeSession, type Session } from "./api";

const BROWSERS = [
  ["Edg", "Edge"],
  ["OPR", "Opera"],
  ["Firefox", "Firefox"],
  ["Chromium", "Chromium"],
  ["Chrome", "Chrome"],
  ["Safari", "Safari"],
] as const;
const SYSTEMS = [
  ["Android", "Android"],
  ["iPhone", "iPhone"],
  ["iPad", "iPad"],
  ["Windows", "Windows"],
  ["Mac OS X", "macOS"],
  ["Linux", "Linux"],
] as const;

/** A short name for a browser from its User-Agent: enough to tell one's devices apart. */
export function deviceName(userAgent: string | null): string | null {
  if (!userAgent) return null;
  // Most browsers also name the engines they descend from: the most specific name is looked for first.
  const browser = BROWSERS.find(([token]) => userAgent.includes(`${token}/`))?.[1];
  const system = SYSTEMS.find(([token]) => userAgent.includes(token))?.[1];
  const named = [browser, system].filter(Boolean);
  return named.length ? named.join(", ") : userAgent.slice(0, 60);
}

export function SessionsSection() {
  const { t } = useTranslation("account");
  const api = useApi();
  const format = useFormat();
  const [sessions, reload, refresh] = useRemote(useCallback(() => loadSessions(api), [api]));
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [done, setDone] = useState("");

  const act = async (action: () => Promise<void>, message: string) => {
    setBusy(true);
    setProblem(undefined);
    setDone("");
    try {
      await action();
      setDone(message);
      refresh();
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  };

  const describe = (session: Session) => deviceName(session.user_agent) ?? t("sessions.unknownDevice");
  const others = sessions.state === "ready" ? sessions.data.filter((session) => !session.is_current) : [];
  return (
    <section className="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">{t("sessions.title")}</h2>
      {sessions.state === "loading" && <Loading />}
      {sessions.state === "failed" && <ProblemMessage problem={sessions.problem} onRetry={reload} />}
      {sessions.state === "ready" && (
        <>
          <ul className="account-list" aria-labelledby="sessions-title">
            {sessions.data.map((session) => (
              <li key={session.id}>
                <p>
                  <strong>{describe(session)}</strong>
                  {session.is_current && <span className="badge"> ({t("sessions.thisDevice")})</span>}
                </p>
                <p className="hint">
                  {t("sessions.signedInAt")}: {format.dateTime(session.created_at)} · {t("sessions.lastSeen")}:{" "}
                  {format.dateTime(session.last_seen_at)}
                </p>
                {!session.is_current && (
                  <button
                    type="button"
                    className="secondary"
                    disabled={busy}
                    aria-label={t("sessions.revokeNamed", {
                      device: describe(session),
                      when: format.dateTime(session.created_at),
                    })}
                    onClick={() => void act(() => revokeSession(api, session.id), t("sessions.revoked"))}
                  >
                    {t("sessions.revoke")}
                  </button>
                )}
              </li>
            ))}
          </ul>
          {others.length === 0 && <p className="empty">{t("sessions.empty")}</p>}
          {others.length > 0 && (
            <div className="button-row">
              <button
                type="button"
                className="danger"
                disabled={busy}
                onClick={() => void act(() => revokeOtherSessions(api), t("sessions.revokedOthers"))}
              >
                {t("sessions.revokeOthers")}
              </button>
            </div>
          )}
        </>
      )}
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <p role="status" className="notice-inline">
        {done}
      </p>
    </section>
  );
}
