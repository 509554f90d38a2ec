import { useCallback, useDeferredValue, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { useApi } from "../../api/client";
import { unwrap } from "../../api/problem";
import { en } from "../../i18n/en";
import { useFormat } from "../../i18n/format";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { useRemote } from "../../shared/useRemote";
import { usePageTitle } from "../../shared/usePageTitle";
import { listResources, searchDirectory, type Professional } from "./api";

/** Case- and accent-blind: "helene" finds "Hélène". */
function searchable(text: string): string {
  return text
    .normalize("NFD")
    .replace(/\p{Diacritic}/gu, "")
    .toLowerCase();
}

function kindLabel(kind: string, t: ReturnType<typeof useTranslation>["t"]): string {
  return Object.hasOwn(en.kinds, kind) ? t(`kinds.${kind as keyof typeof en.kinds}`) : kind;
}

/**
 * Find a professional in the directory (verified professionals: field, specialty, name or place, and their
 * earliest free time in the user's zone). While the directory lists nobody at all, the bookable resources
 * are listed instead, so that a practice whose people are not verified yet can still be booked.
 */
export function FindProfessionalPage() {
  const { t } = useTranslation();
  usePageTitle(t("find.title"));
  const api = useApi();
  const [domain, setDomain] = useState("");
  const [specialty, setSpecialty] = useState("");
  const [text, setText] = useState("");
  const words = useDeferredValue(text.trim());
  const [domains] = useRemote(useCallback(() => unwrap(api.appointments.GET("/api/v1/appointments/domains")), [api]));
  // Everyone listed: the specialties to choose from, and whether the directory lists anybody at all.
  const [everyone, reloadEveryone] = useRemote(useCallback(() => searchDirectory(api, {}), [api]));
  const [found, reloadFound] = useRemote(
    useCallback(() => searchDirectory(api, { text: words, specialty, domain }), [api, words, specialty, domain]),
  );
  const specialties =
    everyone.state === "ready"
      ? [...new Set(everyone.data.map((professional) => professional.specialty).filter(Boolean))].sort()
      : [];
  const resultsId = useId();
  const domainLabel = (name: string | null | undefined) =>
    domains.state === "ready" ? domains.data.find((candidate) => candidate.name === name)?.label : undefined;

  return (
    <section aria-labelledby="find-title">
      <h1 id="find-title">{t("find.title")}</h1>
      <p>{t("find.intro")}</p>
      <form
        role="search"
        className="card filters"
        aria-label={t("find.filters")}
        onSubmit={(event) => event.preventDefault()}
      >
        <div className="field">
          <label htmlFor="find-domain">{t("find.domain")}</label>
          <select id="find-domain" value={domain} onChange={(event) => setDomain(event.target.value)}>
            <option value="">{t("find.allDomains")}</option>
            {domains.state === "ready" &&
              domains.data.map((candidate) => (
                <option key={candidate.name} value={candidate.name}>
                  {candidate.label}
                </option>
              ))}
          </select>
        </div>
        {specialties.length > 0 && (
          <div className="field">
            <label htmlFor="find-specialty">{t("find.specialty")}</label>
            <select id="find-specialty" value={specialty} onChange={(event) => setSpecialty(event.target.value)}>
              <option value="">{t("find.allSpecialties")}</option>
              {specialties.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </div>
        )}
        <div className="field">
          <label htmlFor="find-name">{t("find.name")}</label>
          <input
            id="find-name"
            type="search"
            value={text}
            aria-controls={resultsId}
            onChange={(event) => setText(event.target.value)}
          />
        </div>
      </form>
      {(everyone.state === "loading" || found.state === "loading") && <Loading />}
      {everyone.state === "failed" && <ProblemMessage problem={everyone.problem} onRetry={reloadEveryone} />}
      {everyone.state === "ready" && everyone.data.length === 0 ? (
        <ResourceResults id={resultsId} domain={domain} name={words} domainLabel={domainLabel} />
      ) : (
        <>
          {found.state === "failed" && everyone.state !== "failed" && (
            <ProblemMessage problem={found.problem} onRetry={reloadFound} />
          )}
          {found.state === "ready" && everyone.state === "ready" && (
            <ProfessionalResults id={resultsId} professionals={found.data} domainLabel={domainLabel} />
          )}
        </>
      )}
    </section>
  );
}

function ProfessionalResults({
  id,
  professionals,
  domainLabel,
}: {
  id: string;
  professionals: Professional[];
  domainLabel: (name: string | null | undefined) => string | undefined;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  return (
    <>
      <p role="status" className="hint">
        {t("find.count", { count: professionals.length })}
      </p>
      {professionals.length === 0 ? (
        <p className="empty">{t("find.none")}</p>
      ) : (
        <ul id={id} className="results" aria-label={t("find.results")}>
          {professionals.map((professional) => {
            const earliest = professional.earliest_free;
            return (
              <li key={professional.user_id} className="card result">
                <h2>{professional.display_name}</h2>
                <p className="hint">
                  {[professional.specialty, professional.location, domainLabel(professional.resources[0]?.domain)]
                    .filter(Boolean)
                    .join(" · ")}
                </p>
                <p>
                  {earliest ? (
                    <>
                      {t("find.earliest")}{" "}
                      <time dateTime={earliest.starts_at}>{format.dateTime(earliest.starts_at)}</time>
                    </>
                  ) : (
                    t("find.noneSoon")
                  )}
                </p>
                <ul className="inline-list">
                  {professional.resources.map((resource) => (
                    <li key={resource.id}>
                      <Link
                        className="button"
                        to={`/appointments/new?resource=${resource.id}`}
                        // The visible words first (WCAG 2.5.3), then whose free times they are.
                        aria-label={t("find.bookWith", { name: resource.display_name })}
                      >
                        {t("find.book")}
                      </Link>
                    </li>
                  ))}
                </ul>
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}

/** The bookable resources of a field, filtered by name here (the resources endpoint has no name search). */
function ResourceResults({
  id,
  domain,
  name,
  domainLabel,
}: {
  id: string;
  domain: string;
  name: string;
  domainLabel: (name: string | null | undefined) => string | undefined;
}) {
  const { t } = useTranslation();
  const api = useApi();
  const [resources, reload] = useRemote(useCallback(() => listResources(api, domain || null), [api, domain]));
  if (resources.state === "loading") return <Loading />;
  if (resources.state === "failed") return <ProblemMessage problem={resources.problem} onRetry={reload} />;
  const shown = resources.data.filter((resource) => searchable(resource.display_name).includes(searchable(name)));
  return (
    <>
      <p role="status" className="hint">
        {t("find.count", { count: shown.length })}
      </p>
      {shown.length === 0 ? (
        <p className="empty">{t("find.none")}</p>
      ) : (
        <ul id={id} className="results" aria-label={t("find.results")}>
          {shown.map((resource) => (
            <li key={resource.id} className="card result">
              <h2>{resource.display_name}</h2>
              <p className="hint">
                {[domainLabel(resource.domain), kindLabel(resource.kind, t), resource.zone].filter(Boolean).join(" · ")}
              </p>
              <Link
                className="button"
                to={`/appointments/new?resource=${resource.id}`}
                aria-label={t("find.bookWith", { name: resource.display_name })}
              >
                {t("find.book")}
              </Link>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
