import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { loadGrants, revokeGrant, type Grant } from "./api";

/** Other applications the person allowed to use their account (OAuth client grants), and taking that back. */
export function ApplicationsSection() {
  const { t } = useTranslation("account");
  const api = useApi();
  const format = useFormat();
  const [grants, reload, refresh] = useRemote(useCallback(() => loadGrants(api), [api]));
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [done, setDone] = useState("");

  const nameOf = (grant: Grant) => grant.client_name ?? grant.client_id;
  const revoke = async (grant: Grant) => {
    setBusy(true);
    setProblem(undefined);
    setDone("");
    try {
      await revokeGrant(api, grant.client_id);
      setDone(t("applications.revoked", { name: nameOf(grant) }));
      refresh();
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  };

  const active = grants.state === "ready" ? grants.data.filter((grant) => !grant.revoked_at) : [];
  return (
    <section className="card" aria-labelledby="applications-title">
      <h2 id="applications-title">{t("applications.title")}</h2>
      <p>{t("applications.intro")}</p>
      {grants.state === "loading" && <Loading />}
      {grants.state === "failed" && <ProblemMessage problem={grants.problem} onRetry={reload} />}
      {grants.state === "ready" && active.length === 0 && <p className="empty">{t("applications.empty")}</p>}
      {active.length > 0 && (
        <ul className="account-list" aria-labelledby="applications-title">
          {active.map((grant) => (
            <li key={grant.client_id}>
              <p>
                <strong>{nameOf(grant)}</strong>
              </p>
              <p className="hint">
                {t("applications.allowedAt", { date: format.dateTime(grant.granted_at) })} ·{" "}
                {t("applications.scopes", { scopes: grant.scopes.join(", ") })}
              </p>
              <button
                type="button"
                className="danger"
                disabled={busy}
                aria-label={t("applications.revokeNamed", { name: nameOf(grant) })}
                onClick={() => void revoke(grant)}
              >
                {t("applications.revoke")}
              </button>
            </li>
          ))}
        </ul>
      )}
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <p role="status" className="notice-inline">
        {done}
      </p>
    </section>
  );
}
