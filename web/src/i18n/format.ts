// Dates, times and durations through Intl, in the user's language and time zone.
import { useTranslation } from "react-i18next";

/** The user's time zone as the browser knows it (IANA name, e.g. "Europe/Paris"). */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function formatDateTime(iso: string, locale: string, timeZone: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short", timeZone }).format(new Date(iso));
}

/** A calendar day, e.g. "Tuesday 1 December". */
export function formatDay(date: Date | string, locale: string, timeZone: string): string {
  return new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", timeZone }).format(
    new Date(date),
  );
}

export function formatTime(iso: string, locale: string, timeZone: string): string {
  return new Intl.DateTimeFormat(locale, { timeStyle: "short", timeZone }).format(new Date(iso));
}

/** Two days as a range, the shared month or year said once ("30 Nov – 6 Dec 2026"). */
export function formatDayRange(first: Date, last: Date, locale: string, timeZone: string): string {
  return new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", year: "numeric", timeZone }).formatRange(
    first,
    last,
  );
}

export function formatMinutes(minutes: number, locale: string): string {
  return new Intl.NumberFormat(locale, { style: "unit", unit: "minute", unitDisplay: "long" }).format(minutes);
}

/** A `datetime-local` input's value (wall time in the browser's zone) as an aware ISO 8601 instant. */
export function instantFromLocalInput(value: string): string {
  return new Date(value).toISOString();
}

/** The browser's own variant of the chosen language (en → en-GB for a British browser), for dates' order. */
export function regionalLocale(language: string, browser: readonly string[]): string {
  return browser.find((tag) => tag.toLowerCase().split("-")[0] === language) ?? language;
}

/** Formatting bound to the current language and the user's zone. */
export function useFormat(timeZone: string = browserTimeZone()) {
  const { i18n } = useTranslation();
  const locale = regionalLocale(i18n.language, navigator.languages);
  return {
    timeZone,
    dateTime: (iso: string) => formatDateTime(iso, locale, timeZone),
    day: (date: Date | string) => formatDay(date, locale, timeZone),
    time: (iso: string) => formatTime(iso, locale, timeZone),
    dayRange: (first: Date, last: Date) => formatDayRange(first, last, locale, timeZone),
    minutes: (minutes: number) => formatMinutes(minutes, locale),
  };
}
