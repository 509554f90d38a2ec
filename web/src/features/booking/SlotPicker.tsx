// A week of a resource's free times, in the user's own zone: one radio button per slot, grouped by day,
// so the keyboard (Tab to the group, arrows between times) and screen readers work without extra code.
// The week stays current: when the resource's live stream says its time changed in this week, the free
// times are read again, and a chosen time someone else just took is unchosen, with a word why.
import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";

import { useApi } from "../../api/client";
import { browserTimeZone, useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { useRemote } from "../../shared/useRemote";
import { touches, useSlotChanges } from "../../shared/useSlotChanges";
import { loadFreeSlots, type Slot } from "./api";
import { addDays, byDay, dayKey, daysOfWeek, startOfWeek } from "./week";

interface Props {
  /** The group's id: a form focuses it to point at its error. */
  id: string;
  resourceId: string;
  appointmentType: string;
  /** The chosen slot's start (ISO 8601), or "". */
  value: string;
  onChange: (startsAt: string) => void;
  error?: string | undefined;
}

export function SlotPicker({ id, resourceId, appointmentType, value, onChange, error }: Props) {
  const { t } = useTranslation();
  const api = useApi();
  const format = useFormat();
  const thisWeek = startOfWeek(new Date());
  const [monday, setMonday] = useState(thisWeek);
  const load = useCallback(
    () =>
      loadFreeSlots(api, {
        resourceId,
        appointmentType,
        from: monday,
        to: addDays(monday, 7),
        zone: browserTimeZone(),
      }),
    [api, resourceId, appointmentType, monday],
  );
  const [slots, reload] = useRemote(load);
  // Read again after a live change, shown in place of the first answer without a "loading" flash.
  const [fresh, setFresh] = useState<{ load: typeof load; slots: Slot[] } | null>(null);
  const [lost, setLost] = useState(false);
  const shown = fresh?.load === load ? fresh.slots : slots.state === "ready" ? slots.data : [];

  const retry = () => {
    setFresh(null);
    reload();
  };
  const choose = (startsAt: string) => {
    setLost(false);
    onChange(startsAt);
  };

  useSlotChanges(resourceId, (change) => {
    if (slots.state !== "ready" || !touches(change, monday, addDays(monday, 7))) return;
    load().then(
      (next) => {
        setFresh({ load, slots: next });
        const chosen =
          value !== "" && Date.parse(value) >= monday.getTime() && Date.parse(value) < addDays(monday, 7).getTime();
        if (chosen && !next.some((slot) => sameInstant(slot.starts_at, value))) {
          setLost(true);
          onChange("");
        }
      },
      () => retry(),
    );
  });

  const days = daysOfWeek(monday);
  const grouped = byDay(shown);
  const described = [`${id}-zone`, error && `${id}-error`].filter(Boolean).join(" ");

  return (
    <fieldset id={id} tabIndex={-1} aria-describedby={described} className="slot-picker">
      <legend>{t("slots.legend")}</legend>
      <p id={`${id}-zone`} className="hint">
        {t("slots.zoneHint", { zone: format.timeZone })}
      </p>
      {error && (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      )}
      <p role="status" className={lost && value === "" ? "field-error" : "visually-hidden"}>
        {lost && value === "" ? t("slots.taken") : ""}
      </p>
      <div className="week-nav">
        <button
          type="button"
          className="secondary"
          disabled={monday.getTime() <= thisWeek.getTime()}
          onClick={() => setMonday(addDays(monday, -7))}
        >
          {t("slots.previousWeek")}
        </button>
        <p className="week-label" aria-live="polite">
          {t("slots.week", { range: format.dayRange(days[0] ?? monday, days[6] ?? monday) })}
        </p>
        <button type="button" className="secondary" onClick={() => setMonday(addDays(monday, 7))}>
          {t("slots.nextWeek")}
        </button>
      </div>
      {slots.state === "loading" && <Loading />}
      {slots.state === "failed" && <ProblemMessage problem={slots.problem} onRetry={retry} />}
      {slots.state === "ready" &&
        (shown.length === 0 ? (
          <p className="empty">{t("slots.noneThisWeek")}</p>
        ) : (
          <div className="week">
            {days.map((day) => {
              const key = dayKey(day);
              const free = grouped.get(key) ?? [];
              return (
                <div key={key} className="day" role="group" aria-labelledby={`${id}-${key}`}>
                  <p id={`${id}-${key}`} className="day-name">
                    {format.day(day)}
                  </p>
                  {free.length === 0 ? (
                    <p className="empty">{t("slots.noneThisDay")}</p>
                  ) : (
                    <ul className="times">
                      {free.map((slot) => {
                        const slotId = `${id}-${slot.starts_at}`;
                        return (
                          <li key={slot.starts_at}>
                            <input
                              type="radio"
                              id={slotId}
                              name={`${id}-slot`}
                              value={slot.starts_at}
                              checked={sameInstant(slot.starts_at, value)}
                              onChange={() => choose(slot.starts_at)}
                            />
                            <label htmlFor={slotId}>
                              <time dateTime={slot.starts_at}>{format.time(slot.starts_at)}</time>
                            </label>
                          </li>
                        );
                      })}
                    </ul>
                  )}
                </div>
              );
            })}
          </div>
        ))}
    </fieldset>
  );
}

function sameInstant(a: string, b: string): boolean {
  return b !== "" && Date.parse(a) === Date.parse(b);
}
