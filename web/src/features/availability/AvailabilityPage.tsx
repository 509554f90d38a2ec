import { useCallback, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { useApi } from "../../api/client";
import type { Problem } from "../../api/problem";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { asProblem, useRemote } from "../../shared/useRemote";
import { usePageTitle } from "../../shared/usePageTitle";
import type { SignedInUser } from "../auth/session";
import type { Resource } from "../booking/api";
import { listOrganisationResources, readSchedule, saveSchedule } from "./api";
import { BulkChangesSection } from "./BulkChanges";
import {
  WEEKDAYS,
  emptyWeek,
  periodProblems,
  planOf,
  rulesOf,
  type Period,
  type Schedule,
  type WeekPlan,
  type Weekday,
} from "./weekly";

/** 2026-11-30 was a Monday: the weekdays' names in the user's language, Monday first (ISO 8601). */
const A_MONDAY = Date.UTC(2026, 10, 30, 12);

function today(): string {
  const now = new Date();
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

export function AvailabilityPage({ user }: { user: SignedInUser }) {
  const { t } = useTranslation();
  usePageTitle(t("availability.title"));
  const api = useApi();
  const organisation = user.organisation;
  const [resources, reload] = useRemote(
    useCallback(
      () => (organisation ? listOrganisationResources(api, organisation) : Promise.resolve([])),
      [api, organisation],
    ),
  );
  const [chosen, setChosen] = useState("");

  if (!organisation) {
    return (
      <section aria-labelledby="availability-title">
        <h1 id="availability-title">{t("availability.title")}</h1>
        <p className="empty">{t("availability.noOrganisation")}</p>
      </section>
    );
  }
  const resource =
    resources.state === "ready" ? (resources.data.find((item) => item.id === chosen) ?? resources.data[0]) : undefined;
  return (
    <section aria-labelledby="availability-title">
      <h1 id="availability-title">{t("availability.title")}</h1>
      <p>{t("availability.intro")}</p>
      {resources.state === "loading" && <Loading />}
      {resources.state === "failed" && <ProblemMessage problem={resources.problem} onRetry={reload} />}
      {resources.state === "ready" && resources.data.length === 0 && (
        <p className="empty">{t("availability.noResources")}</p>
      )}
      {resources.state === "ready" && resource && (
        <>
          <div className="field">
            <label htmlFor="availability-resource">{t("availability.resource")}</label>
            <select id="availability-resource" value={resource.id} onChange={(event) => setChosen(event.target.value)}>
              {resources.data.map((item) => (
                <option key={item.id} value={item.id}>
                  {item.display_name}
                </option>
              ))}
            </select>
          </div>
          <ScheduleLoader key={resource.id} resource={resource} />
          <BulkChangesSection resources={resources.data} />
        </>
      )}
    </section>
  );
}

function ScheduleLoader({ resource }: { resource: Resource }) {
  const api = useApi();
  const [schedule, reload] = useRemote(useCallback(() => readSchedule(api, resource.id), [api, resource.id]));
  if (schedule.state === "loading") return <Loading />;
  if (schedule.state === "failed") return <ProblemMessage problem={schedule.problem} onRetry={reload} />;
  const stored: Schedule = schedule.data ?? {
    zone: resource.zone,
    valid_from: today(),
    working_hours: [],
  };
  return <WeekEditor resource={resource} stored={stored} isNew={schedule.data === null} />;
}

function WeekEditor({ resource, stored, isNew }: { resource: Resource; stored: Schedule; isNew: boolean }) {
  const { t } = useTranslation();
  const api = useApi();
  const [plan, setPlan] = useState<WeekPlan>(() => planOf(stored));
  const [daysOff, setDaysOff] = useState(stored.days_off ?? []);
  const [noHours, setNoHours] = useState(false);
  const [problem, setProblem] = useState<Problem | null | undefined>(undefined);
  const [saved, setSaved] = useState(false);
  const [saving, setSaving] = useState(false);

  const hasProblems =
    WEEKDAYS.some((day) => periodProblems(plan.hours[day]).size > 0 || periodProblems(plan.breaks[day]).size > 0) ||
    daysOff.some((range) => !range.first_day || !range.last_day || range.last_day < range.first_day);

  const change = (next: WeekPlan) => {
    setPlan(next);
    setSaved(false);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(undefined);
    setSaved(false);
    const workingHours = [...rulesOf(plan.hours), ...plan.otherHours];
    setNoHours(workingHours.length === 0);
    if (workingHours.length === 0 || hasProblems) return;
    setSaving(true);
    try {
      await saveSchedule(api, resource.id, {
        ...stored,
        working_hours: workingHours,
        breaks: [...rulesOf(plan.breaks), ...plan.otherBreaks],
        days_off: daysOff,
      });
      setSaved(true);
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form onSubmit={(event) => void submit(event)} noValidate aria-labelledby="week-title">
      <h2 id="week-title">{t("availability.week")}</h2>
      <p className="hint">{t("availability.zone", { zone: stored.zone })}</p>
      {isNew && <p className="notice">{t("availability.none")}</p>}
      {(plan.otherHours.length > 0 || plan.otherBreaks.length > 0) && (
        <p className="hint">
          {t("availability.otherRules", { count: plan.otherHours.length + plan.otherBreaks.length })}
        </p>
      )}
      <div className="week-editor">
        {WEEKDAYS.map((day, index) => (
          <DayEditor
            key={day}
            day={day}
            index={index}
            hours={plan.hours[day]}
            breaks={plan.breaks[day]}
            onHours={(periods) => change({ ...plan, hours: { ...plan.hours, [day]: periods } })}
            onBreaks={(periods) => change({ ...plan, breaks: { ...plan.breaks, [day]: periods } })}
          />
        ))}
      </div>
      <p>
        <button
          type="button"
          className="secondary"
          onClick={() =>
            change({
              ...plan,
              hours: { ...emptyWeek(), ...Object.fromEntries(WEEKDAYS.slice(0, 5).map((d) => [d, plan.hours.MO])) },
              breaks: { ...emptyWeek(), ...Object.fromEntries(WEEKDAYS.slice(0, 5).map((d) => [d, plan.breaks.MO])) },
            })
          }
        >
          {t("availability.copyMonday")}
        </button>
      </p>
      <DaysOffEditor
        daysOff={daysOff}
        onChange={(next) => {
          setDaysOff(next);
          setSaved(false);
        }}
      />
      {noHours && (
        <p role="alert" className="field-error">
          {t("availability.needsHours")}
        </p>
      )}
      {hasProblems && <p className="field-error">{t("availability.fixFirst")}</p>}
      {problem !== undefined && <ProblemMessage problem={problem} />}
      <p role="status" className={saved ? "notice" : "visually-hidden"}>
        {saved ? t("availability.saved") : ""}
      </p>
      <button type="submit" disabled={saving}>
        {saving ? t("availability.saving") : t("availability.save")}
      </button>
    </form>
  );
}

function DayEditor(props: {
  day: Weekday;
  index: number;
  hours: Period[];
  breaks: Period[];
  onHours: (periods: Period[]) => void;
  onBreaks: (periods: Period[]) => void;
}) {
  const { t, i18n } = useTranslation();
  const name = new Intl.DateTimeFormat(i18n.language, { weekday: "long", timeZone: "UTC" }).format(
    A_MONDAY + props.index * 86_400_000,
  );
  return (
    <fieldset className="day-editor">
      <legend>{name}</legend>
      <PeriodList
        id={`${props.day}-hours`}
        label={t("availability.hours", { day: name })}
        add={t("availability.addHours")}
        empty={t("availability.closed")}
        periods={props.hours}
        onChange={props.onHours}
      />
      <PeriodList
        id={`${props.day}-breaks`}
        label={t("availability.breaks", { day: name })}
        add={t("availability.addBreak")}
        empty={t("availability.noBreaks")}
        periods={props.breaks}
        onChange={props.onBreaks}
      />
    </fieldset>
  );
}

function PeriodList(props: {
  id: string;
  label: string;
  add: string;
  empty: string;
  periods: Period[];
  onChange: (periods: Period[]) => void;
}) {
  const { t } = useTranslation();
  const problems = periodProblems(props.periods);
  const set = (index: number, period: Period) =>
    props.onChange(props.periods.map((current, at) => (at === index ? period : current)));
  return (
    <div role="group" aria-label={props.label} className="period-list">
      <p className="hint">{props.label}</p>
      {props.periods.length === 0 && <p className="empty">{props.empty}</p>}
      {props.periods.map((period, index) => {
        const id = `${props.id}-${index}`;
        const problem = problems.get(index);
        const invalid = problem ? { "aria-invalid": true, "aria-describedby": `${id}-error` } : {};
        return (
          <div key={index} className="period">
            <label htmlFor={`${id}-start`}>{t("availability.from")}</label>
            <input
              id={`${id}-start`}
              type="time"
              value={period.start}
              onChange={(event) => set(index, { ...period, start: event.target.value })}
              {...invalid}
            />
            <label htmlFor={`${id}-end`}>{t("availability.to")}</label>
            <input
              id={`${id}-end`}
              type="time"
              value={period.end}
              onChange={(event) => set(index, { ...period, end: event.target.value })}
              {...invalid}
            />
            <button
              type="button"
              className="secondary"
              aria-label={t("availability.removeNamed", { what: props.label, from: period.start, to: period.end })}
              onClick={() => props.onChange(props.periods.filter((_, at) => at !== index))}
            >
              {t("availability.remove")}
            </button>
            {problem && (
              <p id={`${id}-error`} className="field-error">
                {t(problem === "order" ? "availability.endAfterStart" : "availability.overlap")}
              </p>
            )}
          </div>
        );
      })}
      <button
        type="button"
        className="secondary"
        onClick={() => {
          const last = props.periods.at(-1);
          props.onChange([
            ...props.periods,
            last ? { start: last.end, end: last.end } : { start: "09:00", end: "17:00" },
          ]);
        }}
      >
        {props.add}
      </button>
    </div>
  );
}

function DaysOffEditor({
  daysOff,
  onChange,
}: {
  daysOff: NonNullable<Schedule["days_off"]>;
  onChange: (daysOff: NonNullable<Schedule["days_off"]>) => void;
}) {
  const { t } = useTranslation();
  const set = (index: number, range: { first_day: string; last_day: string }) =>
    onChange(daysOff.map((current, at) => (at === index ? range : current)));
  return (
    <fieldset>
      <legend>{t("availability.daysOff")}</legend>
      <p className="hint">{t("availability.daysOffHint")}</p>
      {daysOff.length === 0 && <p className="empty">{t("availability.noDaysOff")}</p>}
      {daysOff.map((range, index) => {
        const id = `days-off-${index}`;
        const invalid =
          !range.first_day || !range.last_day || range.last_day < range.first_day
            ? { "aria-invalid": true, "aria-describedby": `${id}-error` }
            : {};
        return (
          <div key={index} className="period">
            <label htmlFor={`${id}-first`}>{t("availability.firstDay")}</label>
            <input
              id={`${id}-first`}
              type="date"
              value={range.first_day}
              onChange={(event) => set(index, { ...range, first_day: event.target.value })}
              {...invalid}
            />
            <label htmlFor={`${id}-last`}>{t("availability.lastDay")}</label>
            <input
              id={`${id}-last`}
              type="date"
              value={range.last_day}
              min={range.first_day}
              onChange={(event) => set(index, { ...range, last_day: event.target.value })}
              {...invalid}
            />
            <button
              type="button"
              className="secondary"
              aria-label={t("availability.removeDaysOff", { from: range.first_day, to: range.last_day })}
              onClick={() => onChange(daysOff.filter((_, at) => at !== index))}
            >
              {t("availability.remove")}
            </button>
            {"aria-invalid" in invalid && (
              <p id={`${id}-error`} className="field-error">
                {t("availability.lastAfterFirst")}
              </p>
            )}
          </div>
        );
      })}
      <button
        type="button"
        className="secondary"
        onClick={() => onChange([...daysOff, { first_day: today(), last_day: today() }])}
      >
        {t("availability.addDaysOff")}
      </button>
    </fieldset>
  );
}
