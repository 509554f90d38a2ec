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
import { listAllAppointments, listAppointments, loadDirectory, type AppointmentSummary, type Directory } from "./api";
import { StatusBadge } from "./labels";

const PAST_SHOWN = 20; // at first, then as many more at each "Show more"
const PAST_MAX = 1000; // the service pages oldest first: the past is read whole (up to this) to show it newest first

/** The patient's own appointments: what is coming (soonest first) and the past (latest first). */
export function MyAppointmentsPage() {
  const { t } = useTranslation();
  usePageTitle(t("mine.title"));
  const api = useApi();
  // One "now" for the page: an appointment is either coming or past, never both nor neither.
  const [now] = useState(() => new Date());
  const [directory, reloadDirectory] = useRemote(useCallback(() => loadDirectory(api), [api]));

  return (
    <section aria-labelledby="mine-title">
      <h1 id="mine-title">{t("mine.title")}</h1>
      <p>{t("mine.intro")}</p>
      <p>
        <Link className="button secondary" to="/professionals">
          {t("mine.request")}
        </Link>
      </p>
      {directory.state === "loading" && <Loading />}
      {directory.state === "failed" && <ProblemMessage problem={directory.problem} onRetry={reloadDirectory} />}
      {directory.state === "ready" && (
        <>
          <Upcoming now={now} directory={directory.data} />
          <Past now={now} directory={directory.data} />
        </>
      )}
    </section>
  );
}

function Upcoming({ now, directory }: { now: Date; directory: Directory }) {
  const { t } = useTranslation();
  const api = useApi();
  const load = useCallback(() => listAppointments(api, { patient: "me", from: now, limit: 20 }), [api, now]);
  const [first, reload] = useRemote(load);
  const [more, setMore] = useState<{ items: AppointmentSummary[]; cursor: string | null } | null>(null);
  const [moreProblem, setMoreProblem] = useState<Problem | null | undefined>(undefined);
  const [fetching, setFetching] = useState(false);

  const items = first.state === "ready" ? [...first.data.items, ...(more?.items ?? [])] : [];
  const cursor = more ? more.cursor : first.state === "ready" ? first.data.nextCursor : null;
  const showMore = async () => {
    if (!cursor) return;
    setFetching(true);
    setMoreProblem(undefined);
    try {
      const page = await listAppointments(api, { patient: "me", from: now, limit: 20, cursor });
      setMore({ items: [...(more?.items ?? []), ...page.items], cursor: page.nextCursor });
    } catch (error) {
      setMoreProblem(asProblem(error));
    } finally {
      setFetching(false);
    }
  };

  return (
    <section aria-labelledby="upcoming-title">
      <h2 id="upcoming-title">{t("mine.upcoming")}</h2>
      {first.state === "loading" && <Loading />}
      {first.state === "failed" && <ProblemMessage problem={first.problem} onRetry={reload} />}
      {first.state === "ready" && (
        <AppointmentList
          items={items}
          directory={directory}
          empty={t("mine.noneUpcoming")}
          label={t("mine.upcoming")}
        />
      )}
      {moreProblem !== undefined && <ProblemMessage problem={moreProblem} />}
      {cursor && (
        <button type="button" className="secondary" disabled={fetching} onClick={() => void showMore()}>
          {t("mine.more")}
        </button>
      )}
    </section>
  );
}

function Past({ now, directory }: { now: Date; directory: Directory }) {
  const { t } = useTranslation();
  const api = useApi();
  const [past, reload] = useRemote(
    useCallback(
      () => listAllAppointments(api, { patient: "me", to: now }, PAST_MAX).then((items) => items.reverse()),
      [api, now],
    ),
  );
  const [shown, setShown] = useState(PAST_SHOWN);

  return (
    <section aria-labelledby="past-title">
      <h2 id="past-title">{t("mine.past")}</h2>
      {past.state === "loading" && <Loading />}
      {past.state === "failed" && <ProblemMessage problem={past.problem} onRetry={reload} />}
      {past.state === "ready" && (
        <>
          <AppointmentList
            items={past.data.slice(0, shown)}
            directory={directory}
            empty={t("mine.nonePast")}
            label={t("mine.past")}
          />
          {past.data.length > shown && (
            <button type="button" className="secondary" onClick={() => setShown(shown + PAST_SHOWN)}>
              {t("mine.more")}
            </button>
          )}
        </>
      )}
    </section>
  );
}

function AppointmentList({
  items,
  directory,
  empty,
  label,
}: {
  items: AppointmentSummary[];
  directory: Directory;
  empty: string;
  label: string;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  if (items.length === 0) return <p className="empty">{empty}</p>;
  return (
    <ul className="appointment-list" aria-label={label}>
      {items.map((appointment) => {
        const resource = directory.resources.find((candidate) => candidate.id === appointment.resource_id);
        const type = resource?.domain
          ? directory.domains
              .get(resource.domain)
              ?.appointment_types.find((kind) => kind.code === appointment.appointment_type)
          : undefined;
        const when = format.dateTime(appointment.starts_at);
        return (
          <li key={appointment.id} className="card appointment-item">
            <p className="appointment-when">
              <time dateTime={appointment.starts_at}>{when}</time>
            </p>
            <p>{[resource?.display_name, type?.label ?? appointment.appointment_type].filter(Boolean).join(" · ")}</p>
            <StatusBadge status={appointment.status} />
            <Link
              to={`/appointments/${appointment.id}`}
              className="appointment-open"
              aria-label={t("mine.openNamed", { when })}
            >
              {t("mine.open")}
            </Link>
          </li>
        );
      })}
    </ul>
  );
}
