import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { downloadExport, loadDataRequests, requestData, type DataRequest } from "./api";

/** Hands a downloaded file to the browser to save, as a link to it would. */
function save(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  URL.revokeObjectURL(url);
}

export function DataRequestsSection() {
  const { t } = useTranslation("account");
  const api = useApi();
  const format = useFormat();
  const [requests, reload, refresh] = useRemote(useCallback(() => loadDataRequests(api), [api]));
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [done, setDone] = useState("");

  const act = async (action: () => Promise<unknown>, message = "") => {
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
  const ask = (kind: DataRequest["kind"]) => {
    setConfirming(false);
    void act(() => requestData(api, kind), t("data.requested"));
  };
  const download = (request: DataRequest) =>
    void act(async () => save(await downloadExport(api, request.id), `kairos-export-${request.id}.json`));

  return (
    <section className="card" aria-labelledby="data-title">
      <h2 id="data-title">{t("data.title")}</h2>
      <p>{t("data.intro")}</p>
      <div className="button-row">
        <button type="button" className="button" disabled={busy} onClick={() => ask("export")}>
          {t("data.export")}
        </button>
        {!confirming && (
          <button type="button" className="danger" disabled={busy} onClick={() => setConfirming(true)}>
            {t("data.erasure")}
          </button>
        )}
      </div>
      {confirming && (
        <div className="confirm" role="group" aria-labelledby="erasure-warning">
          <p id="erasure-warning">{t("data.erasureWarning")}</p>
          <div className="button-row">
            <button type="button" className="danger" disabled={busy} onClick={() => ask("erasure")}>
              {t("data.confirmErasure")}
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              {t("data.cancel")}
            </button>
          </div>
        </div>
      )}
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <p role="status" className="notice-inline">
        {done}
      </p>
      {requests.state === "loading" && <Loading />}
      {requests.state === "failed" && <ProblemMessage problem={requests.problem} onRetry={reload} />}
      {requests.state === "ready" && requests.data.length === 0 && <p className="empty">{t("data.empty")}</p>}
      {requests.state === "ready" && requests.data.length > 0 && (
        <ul className="account-list">
          {[...requests.data].reverse().map((request) => (
            <li key={request.id}>
              <p>
                <strong>{t(`data.kind.${request.kind}`)}</strong> — {t(`data.status.${request.status}`)}
              </p>
              <p className="hint">{t("data.requestedAt", { date: format.dateTime(request.requested_at) })}</p>
              {request.status !== "complete" && request.waiting_for.length > 0 && (
                <p className="hint">{t("data.waitingFor", { services: request.waiting_for.join(", ") })}</p>
              )}
              {request.failure_reason && <p className="field-error">{request.failure_reason}</p>}
              {request.download_url && (
                <button type="button" className="secondary" disabled={busy} onClick={() => download(request)}>
                  {t("data.download")}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
