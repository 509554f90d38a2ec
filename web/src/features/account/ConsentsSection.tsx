import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { grantConsent, loadConsents, withdrawConsent, type Consent, type Purpose } from "./api";

/** The consent in force for a purpose, if any (at most one record of a purpose is current). */
export function consentInForce(history: Consent[], purpose: string): Consent | undefined {
  return history.find((record) => record.purpose === purpose && record.is_current);
}

export function ConsentsSection() {
  const { t } = useTranslation("account");
  const api = useApi();
  const format = useFormat();
  const [consents, reload, refresh] = useRemote(useCallback(() => loadConsents(api), [api]));
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);

  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(undefined);
    try {
      await action();
      refresh();
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  };

  const describe = (purposes: Purpose[], name: string) =>
    purposes.find((purpose) => purpose.name === name)?.description ?? name;

  return (
    <section className="card" aria-labelledby="consents-title">
      <h2 id="consents-title">{t("consents.title")}</h2>
      <p>{t("consents.intro")}</p>
      {consents.state === "loading" && <Loading />}
      {consents.state === "failed" && <ProblemMessage problem={consents.problem} onRetry={reload} />}
      {consents.state === "ready" && (
        <>
          <ul className="account-list">
            {consents.data.purposes.map((purpose) => {
              const record = consentInForce(consents.data.history, purpose.name);
              const upToDate = record?.version === purpose.version;
              return (
                <li key={purpose.name} data-testid={`consent-${purpose.name}`}>
                  <p>
                    <strong>{purpose.description}</strong>
                  </p>
                  <p className="hint">
                    {record
                      ? t("consents.granted", { date: format.dateTime(record.granted_at), version: record.version })
                      : t("consents.notGranted")}
                  </p>
                  {record && !upToDate && <p className="hint">{t("consents.outdated", { version: record.version })}</p>}
                  <div className="button-row">
                    {!upToDate && (
                      <button
                        type="button"
                        className="button"
                        disabled={busy}
                        aria-label={t("consents.grantNamed", { purpose: purpose.description })}
                        onClick={() => void act(() => grantConsent(api, purpose))}
                      >
                        {t("consents.grant")}
                      </button>
                    )}
                    {record && (
                      <button
                        type="button"
                        className="secondary"
                        disabled={busy}
                        aria-label={t("consents.withdrawNamed", { purpose: purpose.description })}
                        onClick={() => void act(() => withdrawConsent(api, purpose.name))}
                      >
                        {t("consents.withdraw")}
                      </button>
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
          {problem !== undefined && <ProblemMessage problem={problem} />}
          <details>
            <summary>{t("consents.history")}</summary>
            {consents.data.history.length === 0 ? (
              <p className="empty">{t("consents.historyEmpty")}</p>
            ) : (
              <div className="table-scroll">
                <table className="account-table">
                  <thead>
                    <tr>
                      <th scope="col">{t("consents.purpose")}</th>
                      <th scope="col">{t("consents.version")}</th>
                      <th scope="col">{t("consents.grantedAt")}</th>
                      <th scope="col">{t("consents.closedAt")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...consents.data.history].reverse().map((record) => (
                      <tr key={record.id}>
                        <td>{describe(consents.data.purposes, record.purpose)}</td>
                        <td>{record.version}</td>
                        <td>{format.dateTime(record.granted_at)}</td>
                        <td>
                          {record.closed_at
                            ? `${format.dateTime(record.closed_at)} (${t(`consents.closedBy.${record.closed_by ?? "withdrawn"}`)})`
                            : t("consents.current")}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </details>
        </>
      )}
    </section>
  );
}
