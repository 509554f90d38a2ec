// A practice's agenda: its booked appointments by day or by week, in the user's zone. The period, the view
// and whose agenda are in the address (`?view=week&date=2026-12-01&resource=…`), so a view can be linked
// and survives a reload. Everything is a native button, select or link: Tab and Enter reach it all.
import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";

import { useApi } from "../../api/client";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { useRemote } from "../../shared/useRemote";
import { usePageTitle } from "../../shared/usePageTitle";
import { useSlotChanges } from "../../shared/useSlotChanges";
import { listAllAppointments, type AppointmentStatus, type AppointmentSummary, type Domain } from "../appointments/api";
import { StatusBadge } from "../appointments/labels";
import type { SignedInUser } from "../auth/session";
import type { Resource } from "../booking/api";
import { addDays, byDay, dayKey, daysOfWeek, startOfWeek } from "../booking/week";
import { listOrganisationResources } from "../availability/api";
import { listDomains } from "./api";
import { PatientName } from "./PatientName";

/** What is on the agenda: appointments that hold their time and were agreed (FHIR R4 statuses). */
const AGENDA_STATUSES: AppointmentStatus[] = ["booked", "arrived", "checked-in", "fulfilled", "noshow"];

type View = "day" | "week";

/** A `YYYY-MM-DD` as local midnight; anything else is today. */
export function dayOf(text: string | null, today: Date = new Date()): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text ?? "");
  const day = match ? new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : new Date(today);
  if (Number.isNaN(day.getTime())) return dayOf(null, today);
  day.setHours(0, 0, 0, 0);
  return day;
}

export function AgendaPage({ user }: { user: SignedInUser }) {
  const { t } = useTranslation();
  usePageTitle(t("practice.agendaTitle"));
  const api = useApi();
  const organisation = user.organisation;
  const [params, setParams] = useSearchParams();
  const view: View = params.get("view") === "day" ? "day" : "week";
  const day = dayOf(params.get("date"));
  const resourceId = params.get("resource") ?? "";
  const start = view === "week" ? startOfWeek(day) : day;
  const startKey = dayKey(start);

  const [practice, reloadPractice] = useRemote(
    useCallback(async () => {
      const [resources, domains] = await Promise.all([
        organisation ? listOrganisationResources(api, organisation) : Promise.resolve([]),
        listDomains(api),
      ]);
      return { resources, domains };
    }, [api, organisation]),
  );
  const [agenda, reload, refresh] = useRemote(
    useCallback(() => {
      const from = dayOf(startKey);
      return listAllAppointments(api, {
        status: AGENDA_STATUSES,
        from,
        to: addDays(from, view === "week" ? 7 : 1),
        ...(resourceId ? { resourceId } : {}),
      });
    }, [api, startKey, view, resourceId]),
  );
  // Live for one person's agenda; "everyone" would need a stream per resource.
  useSlotChanges(resourceId || undefined, refresh);

  const go = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(changes)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    setParams(next);
  };
  const step = view === "week" ? 7 : 1;

  if (!organisation) {
    return (
      <section aria-labelledby="agenda-title">
        <h1 id="agenda-title">{t("practice.agendaTitle")}</h1>
        <p className="empty">{t("practice.noOrganisation")}</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="agenda-title" className="wide">
      <h1 id="agenda-title">{t("practice.agendaTitle")}</h1>
      <p>{t("practice.agendaIntro")}</p>
      <div className="card agenda-tools">
        <div role="group" aria-label={t("practice.view")} className="button-row">
          {(["day", "week"] as const).map((option) => (
            <button
              key={option}
              type="button"
              className={view === option ? "" : "secondary"}
              aria-pressed={view === option}
              onClick={() => go({ view: option })}
            >
              {t(`practice.${option}`)}
            </button>
          ))}
        </div>
        <div className="button-row">
          <button type="button" className="secondary" onClick={() => go({ date: dayKey(addDays(day, -step)) })}>
            {view === "week" ? t("practice.previousWeek") : t("practice.previousDay")}
          </button>
          <button type="button" className="secondary" onClick={() => go({ date: "" })}>
            {t("practice.today")}
          </button>
          <button type="button" className="secondary" onClick={() => go({ date: dayKey(addDays(day, step)) })}>
            {view === "week" ? t("practice.nextWeek") : t("practice.nextDay")}
          </button>
        </div>
        {practice.state === "ready" && practice.data.resources.length > 1 && (
          <div className="field">
            <label htmlFor="agenda-resource">{t("practice.resource")}</label>
            <select id="agenda-resource" value={resourceId} onChange={(event) => go({ resource: event.target.value })}>
              <option value="">{t("practice.allResources")}</option>
              {practice.data.resources.map((resource) => (
                <option key={resource.id} value={resource.id}>
                  {resource.display_name}
                </option>
              ))}
            </select>
          </div>
        )}
      </div>
      <Period start={start} days={view === "week" ? 7 : 1} />
      {(agenda.state === "loading" || practice.state === "loading") && <Loading />}
      {practice.state === "failed" && <ProblemMessage problem={practice.problem} onRetry={reloadPractice} />}
      {agenda.state === "failed" && <ProblemMessage problem={agenda.problem} onRetry={reload} />}
      {agenda.state === "ready" && practice.state === "ready" && (
        <Days
          start={start}
          days={view === "week" ? daysOfWeek(start) : [start]}
          appointments={agenda.data}
          resources={practice.data.resources}
          domains={practice.data.domains}
        />
      )}
    </section>
  );
}

function Period({ start, days }: { start: Date; days: number }) {
  const { t } = useTranslation();
  const format = useFormat();
  return (
    <>
      <h2 className="agenda-period" aria-live="polite">
        {days === 1 ? format.day(start) : format.dayRange(start, addDays(start, days - 1))}
      </h2>
      <p className="hint">{t("practice.zone", { zone: format.timeZone })}</p>
    </>
  );
}

function Days({
  start,
  days,
  appointments,
  resources,
  domains,
}: {
  start: Date;
  days: Date[];
  appointments: AppointmentSummary[];
  resources: Resource[];
  domains: Map<string, Domain>;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  const grouped = byDay(appointments);
  if (appointments.length === 0) return <p className="empty">{t("practice.noneInRange")}</p>;
  return (
    <div className={days.length === 1 ? "agenda agenda-day" : "agenda agenda-week"} data-start={dayKey(start)}>
      {days.map((day) => {
        const key = dayKey(day);
        const items = grouped.get(key) ?? [];
        return (
          <section key={key} className="agenda-column" aria-labelledby={`agenda-${key}`}>
            <h3 id={`agenda-${key}`}>{format.day(day)}</h3>
            {items.length === 0 ? (
              <p className="empty">{t("practice.noneThisDay")}</p>
            ) : (
              <ol className="agenda-items">
                {items.map((appointment) => {
                  const resource = resources.find((candidate) => candidate.id === appointment.resource_id);
                  const domain = resource?.domain ? domains.get(resource.domain) : undefined;
                  const type = domain?.appointment_types.find((kind) => kind.code === appointment.appointment_type);
                  return (
                    <li key={appointment.id} className="agenda-item">
                      <Link to={`/appointments/${appointment.id}`}>
                        {t("practice.appointment", {
                          time: format.time(appointment.starts_at),
                          type: type?.label ?? appointment.appointment_type,
                          who: resource?.display_name ?? appointment.resource_id,
                        })}
                      </Link>
                      <span className="agenda-patient">
                        <PatientName appointment={appointment} />
                      </span>
                      {appointment.status !== "booked" && <StatusBadge status={appointment.status} />}
                    </li>
                  );
                })}
              </ol>
            )}
          </section>
        );
      })}
    </div>
  );
}
