// A practice's inbox: the requests waiting for its answer, decided one by one (approve, decline with a
// reason, propose another time) or several at once through the batch endpoint, whose per-request outcomes
// are listed after.
import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { usePageTitle } from "../../shared/usePageTitle";
import {
  idempotencyKeys,
  listAllAppointments,
  readHistory,
  type AppointmentSummary,
  type Domain,
} from "../appointments/api";
import { AnswersList, HistoryList } from "../appointments/RecordViews";
import type { SignedInUser } from "../auth/session";
import type { Resource } from "../booking/api";
import { listOrganisationResources } from "../availability/api";
import { approve, decideMany, decline, listDomains, propose, type DecisionItem, type DecisionOutcome } from "./api";
import { DeclineForm, ProposeForm } from "./DecisionForms";
import { PatientName } from "./PatientName";

interface Practice {
  resources: Map<string, Resource>;
  domains: Map<string, Domain>;
}

interface BatchResult {
  outcomes: DecisionOutcome[];
  when: Map<string, string>;
}

export function InboxPage({ user }: { user: SignedInUser }) {
  const { t } = useTranslation();
  usePageTitle(t("practice.inboxTitle"));
  const api = useApi();
  const organisation = user.organisation;
  const [practice, reloadPractice] = useRemote(
    useCallback(async (): Promise<Practice> => {
      const [resources, domains] = await Promise.all([
        organisation ? listOrganisationResources(api, organisation) : Promise.resolve([]),
        listDomains(api),
      ]);
      return { resources: new Map(resources.map((resource) => [resource.id, resource])), domains };
    }, [api, organisation]),
  );
  const [pending, reload, refresh] = useRemote(
    useCallback(() => listAllAppointments(api, { status: ["pending"] }, 500), [api]),
  );

  if (!organisation) {
    return (
      <section aria-labelledby="inbox-title">
        <h1 id="inbox-title">{t("practice.inboxTitle")}</h1>
        <p className="empty">{t("practice.noOrganisation")}</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="inbox-title" className="wide">
      <h1 id="inbox-title">{t("practice.inboxTitle")}</h1>
      <p>{t("practice.inboxIntro")}</p>
      {(pending.state === "loading" || practice.state === "loading") && <Loading />}
      {practice.state === "failed" && <ProblemMessage problem={practice.problem} onRetry={reloadPractice} />}
      {pending.state === "failed" && <ProblemMessage problem={pending.problem} onRetry={reload} />}
      {pending.state === "ready" && practice.state === "ready" && (
        <Inbox requests={pending.data} practice={practice.data} user={user} onDecided={refresh} />
      )}
    </section>
  );
}

function Inbox({
  requests,
  practice,
  user,
  onDecided,
}: {
  requests: AppointmentSummary[];
  practice: Practice;
  user: SignedInUser;
  onDecided: () => void;
}) {
  const { t } = useTranslation();
  const api = useApi();
  const format = useFormat();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [notice, setNotice] = useState("");
  const [batchDeclining, setBatchDeclining] = useState(false);
  const [batch, setBatch] = useState<BatchResult | null>(null);
  const [batchProblem, setBatchProblem] = useState<Problem | null | undefined>(undefined);
  const [sending, setSending] = useState(false);
  const [keyFor] = useState(idempotencyKeys);

  // What was selected and has since been decided elsewhere is no longer selectable.
  const chosen = requests.filter((request) => selected.has(request.id));
  const whenOf = (request: AppointmentSummary) => format.dateTime(request.starts_at);
  const domainOf = (request: AppointmentSummary) => {
    const resource = practice.resources.get(request.resource_id);
    return resource?.domain ? practice.domains.get(resource.domain) : undefined;
  };
  const reasonCodes = [...new Set(chosen.flatMap((request) => domainOf(request)?.reason_codes ?? []))];

  const toggle = (id: string, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });

  const decided = (message: string, id: string) => {
    setNotice(message);
    toggle(id, false);
    onDecided();
  };

  const sendBatch = async (decisions: DecisionItem[]) => {
    setBatchProblem(undefined);
    setBatch(null);
    setSending(true);
    const when = new Map(chosen.map((request) => [request.id, whenOf(request)]));
    try {
      const outcomes = await decideMany(api, decisions, keyFor(decisions));
      setBatch({ outcomes, when });
      setSelected(new Set(outcomes.filter((item) => item.outcome === "problem").map((item) => item.appointment_id)));
      setBatchDeclining(false);
      onDecided();
    } catch (error) {
      setBatchProblem(asProblem(error));
    } finally {
      setSending(false);
    }
  };

  const okCount = batch?.outcomes.filter((item) => item.outcome === "ok").length ?? 0;
  return (
    <>
      <p role="status" className={notice ? "notice" : "visually-hidden"}>
        {notice}
      </p>
      {batch && (
        <section className="card" aria-labelledby="batch-title">
          <h2 id="batch-title">{t("practice.batchResults")}</h2>
          <p role="status">{t("practice.batchSummary", { ok: okCount, failed: batch.outcomes.length - okCount })}</p>
          <ul className="batch-results">
            {batch.outcomes.map((item) => {
              const when = batch.when.get(item.appointment_id) ?? item.appointment_id;
              const problem = item.problem as { title?: string; detail?: string } | null | undefined;
              return (
                <li key={item.appointment_id} className={item.outcome === "ok" ? "ok" : "failed"}>
                  {item.outcome === "ok"
                    ? t("practice.batchOk", { when })
                    : t("practice.batchProblem", {
                        when,
                        problem: [problem?.title, problem?.detail].filter(Boolean).join(" — "),
                      })}
                </li>
              );
            })}
          </ul>
        </section>
      )}
      {requests.length === 0 ? (
        <p className="empty">{t("practice.none")}</p>
      ) : (
        <>
          <p className="hint">{t("practice.count", { count: requests.length })}</p>
          <div className="card batch-bar" role="group" aria-label={t("practice.selected", { count: chosen.length })}>
            <div className="field checkbox">
              <input
                id="select-all"
                type="checkbox"
                checked={chosen.length === requests.length}
                onChange={(event) =>
                  setSelected(event.target.checked ? new Set(requests.map((request) => request.id)) : new Set())
                }
              />
              <label htmlFor="select-all">{t("practice.selectAll")}</label>
            </div>
            <p className="hint" aria-live="polite">
              {t("practice.selected", { count: chosen.length })}
            </p>
            <div className="button-row">
              <button
                type="button"
                disabled={chosen.length === 0 || sending}
                onClick={() =>
                  void sendBatch(chosen.map((request) => ({ appointment_id: request.id, decision: "approve" })))
                }
              >
                {t("practice.approveSelected")}
              </button>
              <button
                type="button"
                className="secondary"
                disabled={chosen.length === 0 || sending}
                onClick={() => setBatchDeclining(true)}
              >
                {t("practice.declineSelected")}
              </button>
            </div>
            {batchProblem !== undefined && <ProblemMessage problem={batchProblem} />}
            {batchDeclining && chosen.length > 0 && (
              <DeclineForm
                title={t("practice.declineManyTitle", { count: chosen.length })}
                reasonCodes={reasonCodes}
                onCancel={() => setBatchDeclining(false)}
                onSubmit={(reasonCode, reason) =>
                  sendBatch(
                    chosen.map((request) => ({
                      appointment_id: request.id,
                      decision: "decline",
                      reason_code: reasonCode,
                      reason,
                    })),
                  )
                }
              />
            )}
          </div>
          <ul className="inbox" aria-label={t("practice.inboxTitle")}>
            {requests.map((request) => (
              <RequestItem
                key={request.id}
                request={request}
                resource={practice.resources.get(request.resource_id)}
                domain={domainOf(request)}
                user={user}
                selected={selected.has(request.id)}
                onSelect={(on) => toggle(request.id, on)}
                onApprove={async () => {
                  await approve(api, request.id, keyFor([request.id, "approve"]));
                  decided(t("practice.approved", { when: whenOf(request) }), request.id);
                }}
                onDecline={async (reasonCode, reason) => {
                  await decline(
                    api,
                    request.id,
                    { reason_code: reasonCode, reason },
                    keyFor([request.id, reasonCode, reason]),
                  );
                  decided(t("practice.declined", { when: whenOf(request) }), request.id);
                }}
                onPropose={async (startsAt, reason) => {
                  await propose(
                    api,
                    request.id,
                    { starts_at: startsAt, reason },
                    keyFor([request.id, startsAt, reason]),
                  );
                  decided(t("practice.proposed", { when: whenOf(request) }), request.id);
                }}
              />
            ))}
          </ul>
        </>
      )}
    </>
  );
}

function RequestItem({
  request,
  resource,
  domain,
  user,
  selected,
  onSelect,
  onApprove,
  onDecline,
  onPropose,
}: {
  request: AppointmentSummary;
  resource: Resource | undefined;
  domain: Domain | undefined;
  user: SignedInUser;
  selected: boolean;
  onSelect: (on: boolean) => void;
  onApprove: () => Promise<void>;
  onDecline: (reasonCode: string, reason: string | null) => Promise<void>;
  onPropose: (startsAt: string, reason: string | null) => Promise<void>;
}) {
  const { t } = useTranslation();
  const { t: tp } = useTranslation("practice");
  const format = useFormat();
  const when = format.dateTime(request.starts_at);
  const [open, setOpen] = useState<"decline" | "propose" | null>(null);
  const [showRecord, setShowRecord] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [approving, setApproving] = useState(false);
  const type = domain?.appointment_types.find((kind) => kind.code === request.appointment_type);
  const headingId = `request-${request.id}`;

  const approveNow = async () => {
    setProblem(undefined);
    setApproving(true);
    try {
      await onApprove();
    } catch (error) {
      setProblem(asProblem(error));
      setApproving(false);
    }
  };

  return (
    <li className="card request" aria-labelledby={headingId}>
      <div className="request-head">
        <input
          type="checkbox"
          id={`select-${request.id}`}
          checked={selected}
          aria-label={t("practice.select", { when })}
          onChange={(event) => onSelect(event.target.checked)}
        />
        <h2 id={headingId}>
          <Link to={`/appointments/${request.id}`}>
            <time dateTime={request.starts_at}>{when}</time>
          </Link>
        </h2>
      </div>
      <dl className="details">
        <dt>{t("practice.with")}</dt>
        <dd>{resource?.display_name ?? request.resource_id}</dd>
        <dt>{t("practice.type")}</dt>
        <dd>{type?.label ?? request.appointment_type}</dd>
        <dt>{t("practice.patient")}</dt>
        <dd>
          <PatientName appointment={request} />
        </dd>
        <dt>{t("practice.message")}</dt>
        <dd>{request.message ?? t("practice.noMessage")}</dd>
      </dl>
      <h3 className="answers-title">{tp("answersTitle")}</h3>
      <AnswersList schema={domain?.form_schema ?? {}} answers={request.answers} />
      <button
        type="button"
        className="link-button"
        aria-expanded={showRecord}
        aria-controls={`${headingId}-record`}
        onClick={() => setShowRecord(!showRecord)}
      >
        {showRecord ? tp("hideHistory") : tp("history")}
      </button>
      <div id={`${headingId}-record`}>{showRecord && <RequestRecord request={request} user={user} />}</div>
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <div className="button-row">
        <button type="button" disabled={approving} onClick={() => void approveNow()}>
          {t("practice.approve")}
        </button>
        <button
          type="button"
          className="secondary"
          aria-expanded={open === "decline"}
          onClick={() => setOpen("decline")}
        >
          {t("practice.decline")}
        </button>
        {domain && (
          <button
            type="button"
            className="secondary"
            aria-expanded={open === "propose"}
            onClick={() => setOpen("propose")}
          >
            {t("practice.propose")}
          </button>
        )}
      </div>
      {open === "decline" && (
        <DeclineForm
          title={t("practice.declineTitle", { when })}
          reasonCodes={domain?.reason_codes ?? []}
          onCancel={() => setOpen(null)}
          onSubmit={onDecline}
        />
      )}
      {open === "propose" && (
        <ProposeForm
          title={t("practice.proposeTitle", { when })}
          resourceId={request.resource_id}
          appointmentType={request.appointment_type}
          onCancel={() => setOpen(null)}
          onSubmit={onPropose}
        />
      )}
    </li>
  );
}

/** The decision history, read when asked for (each read is audited). */
function RequestRecord({ request, user }: { request: AppointmentSummary; user: SignedInUser }) {
  const { t } = useTranslation();
  const api = useApi();
  const [history, reload] = useRemote(useCallback(() => readHistory(api, request.id), [api, request.id]));
  if (history.state === "loading") return <Loading />;
  if (history.state === "failed") return <ProblemMessage problem={history.problem} onRetry={reload} />;
  return (
    <div className="request-record">
      <HistoryList
        history={history.data}
        viewer={user.subject}
        patient={request.patient}
        label={t("appointment.history")}
      />
    </div>
  );
}
